//! The simplified formats (FLAT and STRUCTURED) of a template, to and from canonical compositions.
