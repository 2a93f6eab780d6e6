//! UCUM unit expressions reduced to their physical dimension, and the openEHR properties
//! (the openEHR terminology's group "property") as the dimensions they admit, so that
//! `validate` can tell whether a DV_QUANTITY's `units` measure the property its template
//! names (`mm[Hg]` measures Pressure, `kg` does not).
//!
//! # Grammar
//!
//! The case-sensitive UCUM syntax, as far as clinical archetypes use it:
//!
//! ```text
//! expression  := "/" term | term
//! term        := component (("." | "/") component)*      left to right: a/b.c = (a/b).c
//! component   := "(" term ")" | annotation | factor | annotatable annotation?
//! annotatable := simple_unit exponent?                     m2, s-1, 10*3
//! simple_unit := atom | prefix atom                        prefixes only on metric atoms
//! exponent    := ("+" | "-")? digits
//! factor      := digits                                    1, 100
//! annotation  := "{" any character but "}" "}"             {beats}, {1.73_m2}: dimension 1
//! ```
//!
//! # Decisions
//!
//! - Dimensions are exponents of length, mass, time, electric charge, temperature, amount of
//!   substance, luminous intensity and plane angle (UCUM's base units m, g, s, C, K, cd and
//!   rad, plus the mole), and of one more for arbitrary units (`[iU]`, `[arb'U]`, `[CFU]`),
//!   which measure something only their assay defines. UCUM itself makes the mole a pure
//!   number (6.0221367 × 10²³); here it is a dimension of its own, so that `mmol/L` is a
//!   concentration of substance and not a count per volume.
//! - Only dimensions are compared, never magnitudes: `mm[Hg]` and `kPa` are both pressures,
//!   `Cel` and `[degF]` both temperatures, whatever their offsets and factors.
//! - An expression with an atom outside the table below is not a unit here (`None`), like
//!   one that breaks the grammar: the table holds the SI and customary units clinical
//!   archetypes use, not all of UCUM.
//! - A property whose quantities are pure numbers (Qualified real, Proportion) admits
//!   dimensionless units only: `1`, `%`, `[ppm]`, powers of ten and annotations. Concentration
//!   admits mass, substance, catalytic activity or arbitrary units per volume, substance per
//!   mass, and ratios (a mass fraction in `%`), which is what laboratory archetypes record
//!   under it.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Exponents of the base dimensions, in the order of [`BASE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dimension([i8; 9]);

/// The base dimensions with the atom that measures one unit of each.
const BASE: [(&str, &str); 9] = [
    ("m", "length"),
    ("g", "mass"),
    ("s", "time"),
    ("C", "electric charge"),
    ("K", "temperature"),
    ("mol", "amount of substance"),
    ("cd", "luminous intensity"),
    ("rad", "plane angle"),
    ("[arb'U]", "arbitrary"),
];

impl Dimension {
    /// The dimension of pure numbers.
    pub const NONE: Dimension = Dimension([0; 9]);

    pub fn is_dimensionless(self) -> bool {
        self == Dimension::NONE
    }

    fn times(self, other: Dimension) -> Dimension {
        let mut result = self;
        for (exponent, added) in result.0.iter_mut().zip(other.0) {
            *exponent = exponent.saturating_add(added);
        }
        result
    }

    fn power(self, power: i8) -> Dimension {
        let mut result = self;
        for exponent in &mut result.0 {
            *exponent = exponent.saturating_mul(power);
        }
        result
    }
}

impl std::fmt::Display for Dimension {
    /// Written as a UCUM term over the base atoms (`m.s-2`), `1` when dimensionless.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_dimensionless() {
            return formatter.write_str("1");
        }
        let mut first = true;
        for ((atom, _), exponent) in BASE.iter().zip(self.0) {
            if exponent == 0 {
                continue;
            }
            if !first {
                formatter.write_str(".")?;
            }
            first = false;
            formatter.write_str(atom)?;
            if exponent != 1 {
                write!(formatter, "{exponent}")?;
            }
        }
        Ok(())
    }
}

/// The atoms: symbol, definition (a UCUM term over base atoms and atoms listed before it;
/// empty for the base atoms), and whether SI prefixes apply (UCUM's "metric").
const ATOMS: &[(&str, &str, bool)] = &[
    // Base units.
    ("m", "", true),
    ("g", "", true),
    ("s", "", true),
    ("C", "", true),
    ("K", "", true),
    ("mol", "", true),
    ("cd", "", true),
    ("rad", "", true),
    ("[arb'U]", "", false),
    // Pure numbers.
    ("10*", "1", false),
    ("10^", "1", false),
    ("%", "1", false),
    ("[ppth]", "1", false),
    ("[ppm]", "1", false),
    ("[ppb]", "1", false),
    ("[pptr]", "1", false),
    ("[pi]", "1", false),
    // A logarithm of a concentration, recorded as a plain number.
    ("[pH]", "1", false),
    // Bel: a logarithmic ratio (loudness in dB).
    ("B", "1", true),
    ("[HPF]", "1", false),
    ("[LPF]", "1", false),
    // Time.
    ("min", "s", false),
    ("h", "s", false),
    ("d", "s", false),
    ("wk", "s", false),
    ("mo", "s", false),
    ("mo_j", "s", false),
    ("mo_g", "s", false),
    ("a", "s", false),
    ("a_j", "s", false),
    ("a_g", "s", false),
    // SI derived units.
    ("sr", "rad2", true),
    ("l", "dm3", true),
    ("L", "dm3", true),
    ("Hz", "/s", true),
    ("N", "kg.m/s2", true),
    ("Pa", "N/m2", true),
    ("J", "N.m", true),
    ("W", "J/s", true),
    ("A", "C/s", true),
    ("V", "J/C", true),
    ("F", "C/V", true),
    ("Ohm", "V/A", true),
    ("S", "/Ohm", true),
    ("Wb", "V.s", true),
    ("T", "Wb/m2", true),
    ("H", "Wb/A", true),
    ("Cel", "K", true),
    ("lm", "cd.sr", true),
    ("lx", "lm/m2", true),
    ("Bq", "/s", true),
    ("Gy", "J/kg", true),
    ("Sv", "J/kg", true),
    ("kat", "mol/s", true),
    ("U", "umol/min", true),
    ("eq", "mol", true),
    ("osm", "mol", true),
    ("t", "Mg", true),
    ("u", "g", true),
    ("bar", "10*5.Pa", true),
    ("cal", "J", true),
    ("m[Hg]", "Pa", true),
    ("m[H2O]", "Pa", true),
    ("[iU]", "[arb'U]", true),
    ("[IU]", "[arb'U]", true),
    ("[CFU]", "[arb'U]", false),
    // Angles.
    ("deg", "rad", false),
    ("'", "rad", false),
    ("''", "rad", false),
    ("gon", "rad", false),
    // Customary units.
    ("[in_i]", "m", false),
    ("[ft_i]", "m", false),
    ("[yd_i]", "m", false),
    ("[mi_i]", "m", false),
    ("[lb_av]", "g", false),
    ("[oz_av]", "g", false),
    ("[stone_av]", "g", false),
    ("[gr]", "g", false),
    ("[degF]", "K", false),
    ("[degR]", "K", false),
    ("[gal_us]", "m3", false),
    ("[qt_us]", "m3", false),
    ("[pt_us]", "m3", false),
    ("[cup_us]", "m3", false),
    ("[foz_us]", "m3", false),
    ("[tbs_us]", "m3", false),
    ("[tsp_us]", "m3", false),
    ("[gal_br]", "m3", false),
    ("[pt_br]", "m3", false),
    ("[foz_br]", "m3", false),
    ("[drp]", "m3", false),
    ("[psi]", "Pa", false),
    ("atm", "Pa", false),
    ("[in_i'Hg]", "Pa", false),
    ("[Cal]", "J", false),
    ("[diop]", "/m", false),
];

/// SI prefixes; the two-letter `da` is tried first.
const PREFIXES: &[&str] = &[
    "da", "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "d", "c", "m", "u", "n", "p", "f", "a", "z",
    "y",
];

/// Each atom's dimension and whether it takes prefixes, resolved once.
fn atoms() -> &'static HashMap<&'static str, (Dimension, bool)> {
    static ATOM_TABLE: OnceLock<HashMap<&'static str, (Dimension, bool)>> = OnceLock::new();
    ATOM_TABLE.get_or_init(|| {
        let mut table: HashMap<&'static str, (Dimension, bool)> = HashMap::new();
        for (symbol, definition, metric) in ATOMS {
            let dimension = match BASE.iter().position(|(atom, _)| atom == symbol) {
                Some(index) => {
                    let mut exponents = [0; 9];
                    exponents[index] = 1;
                    Dimension(exponents)
                }
                // Definitions only use atoms listed before them, so they resolve in order.
                None => Parser::new(definition, &table)
                    .expression()
                    .unwrap_or_else(|| panic!("the definition of {symbol} is a unit")),
            };
            table.insert(symbol, (dimension, *metric));
        }
        table
    })
}

/// The dimension of a UCUM unit expression, or `None` when it is not one this module knows
/// (see the module docs).
pub fn dimension(units: &str) -> Option<Dimension> {
    Parser::new(units, atoms()).expression()
}

struct Parser<'t> {
    text: &'t str,
    position: usize,
    atoms: &'t HashMap<&'static str, (Dimension, bool)>,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str, atoms: &'t HashMap<&'static str, (Dimension, bool)>) -> Parser<'t> {
        Parser {
            text,
            position: 0,
            atoms,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    fn expression(mut self) -> Option<Dimension> {
        let dimension = if self.peek() == Some(b'/') {
            self.position += 1;
            self.term()?.power(-1)
        } else {
            self.term()?
        };
        (self.position == self.text.len()).then_some(dimension)
    }

    fn term(&mut self) -> Option<Dimension> {
        let mut dimension = self.component()?;
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.position += 1;
                    dimension = dimension.times(self.component()?);
                }
                Some(b'/') => {
                    self.position += 1;
                    dimension = dimension.times(self.component()?.power(-1));
                }
                _ => return Some(dimension),
            }
        }
    }

    fn component(&mut self) -> Option<Dimension> {
        match self.peek()? {
            b'(' => {
                self.position += 1;
                let dimension = self.term()?;
                (self.peek() == Some(b')')).then_some(())?;
                self.position += 1;
                Some(dimension)
            }
            b'{' => {
                self.annotation()?;
                Some(Dimension::NONE)
            }
            _ => {
                let dimension = self.annotatable()?;
                if self.peek() == Some(b'{') {
                    self.annotation()?;
                }
                Some(dimension)
            }
        }
    }

    fn annotation(&mut self) -> Option<()> {
        let rest = &self.text[self.position..];
        let end = rest.find('}')?;
        // UCUM annotations are printable ASCII, without braces inside.
        let inside = &rest[1..end];
        if inside.contains('{') || !inside.bytes().all(|byte| (b' '..=b'~').contains(&byte)) {
            return None;
        }
        self.position += end + 1;
        Some(())
    }

    /// A simple unit with its exponent, or a factor: everything up to the next operator,
    /// parenthesis or annotation outside square brackets.
    fn annotatable(&mut self) -> Option<Dimension> {
        let rest = &self.text[self.position..];
        let mut depth = 0_u32;
        let mut end = rest.len();
        for (index, byte) in rest.bytes().enumerate() {
            match byte {
                b'[' => depth += 1,
                b']' => depth = depth.checked_sub(1)?,
                b'.' | b'/' | b'(' | b')' | b'{' if depth == 0 => {
                    end = index;
                    break;
                }
                _ => {}
            }
        }
        let text = &rest[..end];
        if text.is_empty() || depth != 0 {
            return None;
        }
        self.position += end;
        if text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Some(Dimension::NONE);
        }
        // The exponent: trailing digits with an optional sign, after a unit symbol.
        let digits = text.len() - text.bytes().rev().take_while(u8::is_ascii_digit).count();
        let (symbol, exponent) = if digits < text.len() {
            let signed = match text.as_bytes()[..digits].last() {
                Some(b'+' | b'-') => digits - 1,
                _ => digits,
            };
            let exponent: i8 = text[signed..].parse().ok()?;
            (&text[..signed], exponent)
        } else {
            (text, 1)
        };
        Some(self.simple_unit(symbol)?.power(exponent))
    }

    fn simple_unit(&self, symbol: &str) -> Option<Dimension> {
        if let Some((dimension, _)) = self.atoms.get(symbol) {
            return Some(*dimension);
        }
        PREFIXES.iter().find_map(|prefix| {
            let atom = symbol.strip_prefix(prefix)?;
            match self.atoms.get(atom) {
                Some((dimension, true)) => Some(*dimension),
                _ => None,
            }
        })
    }
}

/// An openEHR property: its code and rubric in the openEHR terminology, and a unit of each
/// dimension it admits, the first being the one clinicians use most (example compositions
/// take it).
#[derive(Debug, Clone, Copy)]
pub struct Property {
    pub code: &'static str,
    pub name: &'static str,
    pub examples: &'static [&'static str],
}

impl Property {
    /// Whether a quantity of `dimension` measures this property.
    pub fn admits(&self, dimension: Dimension) -> bool {
        self.examples
            .iter()
            .any(|example| self::dimension(example) == Some(dimension))
    }
}

/// The openEHR terminology's group "property" (codes and rubrics as published), each with
/// units of every dimension it admits.
const PROPERTIES: &[Property] = &[
    property("339", "Acceleration", &["m/s2"]),
    property("342", "Acceleration, angular", &["rad/s2"]),
    property("381", "Amount (Eq)", &["eq"]),
    property("384", "Amount (mole)", &["mol"]),
    property("497", "Angle, plane", &["deg"]),
    property("500", "Angle, solid", &["sr"]),
    property("335", "Area", &["m2"]),
    property(
        "119",
        "Concentration",
        &["mmol/L", "g/L", "U/L", "[iU]/L", "/L", "mol/kg", "1"],
    ),
    property("350", "Density", &["g/L"]),
    property("362", "Diffusion coefficient", &["m2/s"]),
    property("501", "Electrical capacitance", &["F"]),
    property("498", "Electrical charge", &["C"]),
    property("502", "Electrical conductance", &["S"]),
    property("334", "Electrical current", &["A"]),
    property("377", "Electrical field strength", &["V/m"]),
    property("655", "Electrical potential time", &["V.s"]),
    property("121", "Energy", &["kcal"]),
    property("366", "Energy density", &["J/m3"]),
    property("508", "Energy dose", &["Gy"]),
    property("365", "Energy per area", &["J/m2"]),
    property("364", "Energy, linear", &["J/m"]),
    property("347", "Flow rate, mass", &["g/s"]),
    property("352", "Flow rate, mass/force", &["g/s/N"]),
    property("351", "Flow rate, mass/volume", &["g/s/L"]),
    property("126", "Flow rate, volume", &["mL/min"]),
    property("348", "Flux, mass", &["g/s/m2"]),
    property("355", "Force", &["N"]),
    property("358", "Force per mass", &["N/g"]),
    property("357", "Force, body", &["N/m3"]),
    property("382", "Frequency", &["/min"]),
    // Often indexed by body surface area (mL/min/{1.73_m2} is still a flow).
    property(
        "586",
        "Glomerular filtration rate",
        &["mL/min", "mL/min/m2"],
    ),
    property("373", "Heat transfer coefficient", &["W/(m2.K)"]),
    property("505", "Illuminance", &["lx"]),
    property("379", "Inductance", &["H"]),
    property("122", "Length", &["cm"]),
    property("499", "Light intensity", &["cd"]),
    property("123", "Loudness", &["dB"]),
    property("504", "Luminous flux", &["lm"]),
    property("378", "Magnetic flux", &["Wb"]),
    property("503", "Magnetic flux density", &["T"]),
    property("124", "Mass", &["kg"]),
    // International units are arbitrary; "Units" are enzyme units or arbitrary ones.
    property("385", "Mass (IU)", &["[iU]", "U"]),
    property("445", "Mass (Units)", &["U", "[arb'U]"]),
    property("349", "Mass per area", &["kg/m2"]),
    property("344", "Moment inertia, area", &["m4"]),
    property("345", "Moment inertia, mass", &["g.m2"]),
    property("340", "Momentum", &["g.m/s"]),
    property("346", "Momentum, flow rate", &["g.m/s2"]),
    property("343", "Momentum, angular", &["g.m2/s"]),
    property("363", "Power", &["W"]),
    property("369", "Power density", &["W/m3"]),
    property("368", "Power flux", &["W/m2"]),
    property("367", "Power, linear", &["W/m"]),
    property("125", "Pressure", &["mm[Hg]"]),
    property("507", "Proportion", &["%"]),
    property("380", "Qualified real", &["1"]),
    property("506", "Radioactivity", &["Bq"]),
    property("375", "Resistance", &["Ohm"]),
    property("370", "Specific energy", &["J/g"]),
    property("371", "Specific heat, gas constant", &["J/(g.K)"]),
    property("337", "Specific surface", &["m2/g"]),
    property("336", "Specific volume", &["m3/g"]),
    property("354", "Specific weight", &["N/m3"]),
    property("356", "Surface tension", &["N/m"]),
    property("127", "Temperature", &["Cel"]),
    property("372", "Thermal conductivity", &["W/(m.K)"]),
    property("128", "Time", &["min"]),
    property("359", "Torque", &["N.m"]),
    property("338", "Velocity", &["m/s"]),
    property("341", "Velocity, angular", &["rad/s"]),
    // Dynamic and kinematic viscosity, as the terminology names them.
    property("360", "Velocity, dynamic", &["Pa.s"]),
    property("361", "Velocity, kinematic", &["m2/s"]),
    property("374", "Voltage, electrical", &["V"]),
    property("129", "Volume", &["mL"]),
    property("130", "Work", &["J"]),
    property("685", "Refractive power", &["[diop]"]),
];

const fn property(
    code: &'static str,
    name: &'static str,
    examples: &'static [&'static str],
) -> Property {
    Property {
        code,
        name,
        examples,
    }
}

/// The property with this code of the openEHR terminology, if it is one.
pub fn property_by_code(code: &str) -> Option<&'static Property> {
    PROPERTIES.iter().find(|property| property.code == code)
}

/// A unit that does not measure `property` (a length, or a mass for a length), for
/// mutations that break a property.
pub(crate) fn unit_of_another_dimension(property: &Property) -> &'static str {
    ["cm", "kg", "s", "%"]
        .into_iter()
        .find(|candidate| dimension(candidate).is_some_and(|found| !property.admits(found)))
        .unwrap_or("cm")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `units` has the dimension written as `expected` (`None`: not a unit here).
    fn check(units: &str, expected: Option<&str>) {
        let found = dimension(units).map(|dimension| dimension.to_string());
        assert_eq!(found.as_deref(), expected, "{units}");
    }

    #[test]
    fn dimensions_of_clinical_units() {
        check("mm[Hg]", Some("m-1.g.s-2"));
        check("cm[H2O]", Some("m-1.g.s-2"));
        check("kPa", Some("m-1.g.s-2"));
        check("bar", Some("m-1.g.s-2"));
        check("Cel", Some("K"));
        check("[degF]", Some("K"));
        check("kg", Some("g"));
        check("[lb_av]", Some("g"));
        check("[oz_av]", Some("g"));
        check("mL", Some("m3"));
        check("l", Some("m3"));
        check("/min", Some("s-1"));
        check("{beats}/min", Some("s-1"));
        check("min-1", Some("s-1"));
        check("%", Some("1"));
        check("1", Some("1"));
        check("{score}", Some("1"));
        check("10*9/L", Some("m-3"));
        check("10^3", Some("1"));
        check("mmol/L", Some("m-3.mol"));
        check("mg/dL", Some("m-3.g"));
        check("kg/m2", Some("m-2.g"));
        check("m2", Some("m2"));
        check("h", Some("s"));
        check("wk", Some("s"));
        check("mo", Some("s"));
        check("a", Some("s"));
        check("ms", Some("s"));
        check("[in_i]", Some("m"));
        check("[ft_i]", Some("m"));
        check("J", Some("m2.g.s-2"));
        check("kcal", Some("m2.g.s-2"));
        check("W", Some("m2.g.s-3"));
        check("mol", Some("mol"));
        check("U", Some("s-1.mol"));
        check("[iU]", Some("[arb'U]"));
        check("m[iU]/mL", Some("m-3.[arb'U]"));
        check("mL/min/{1.73_m2}", Some("m3.s-1"));
        check("W/(m2.K)", Some("g.s-3.K-1"));
        check("kg{body}.m-2", Some("m-2.g"));
        check("deg", Some("rad"));
        check("dB", Some("1"));
        check("ug/(kg.min)", Some("s-1"));
        check("mm", Some("m"));
    }

    #[test]
    fn what_is_not_a_unit_here() {
        for text in [
            "",
            "°",
            "gm",
            "mm[H20]",
            "[furlong]",
            "kg m",
            "m/",
            "(m",
            "m)",
            "{x",
            "mcg",
            "m2x",
            "[in_i",
            "kmin",
            "kh",
        ] {
            check(text, None);
        }
    }

    #[test]
    fn properties_admit_their_units() {
        let admits = |code: &str, units: &str| {
            let property = property_by_code(code).expect("a property code");
            dimension(units).is_some_and(|dimension| property.admits(dimension))
        };
        for (code, units) in [
            ("125", "mm[Hg]"),
            ("125", "cm[H2O]"),
            ("125", "kPa"),
            ("124", "kg"),
            ("124", "[lb_av]"),
            ("122", "cm"),
            ("122", "[in_i]"),
            ("127", "Cel"),
            ("127", "[degF]"),
            ("129", "mL"),
            ("382", "/min"),
            ("382", "{beats}/min"),
            ("128", "h"),
            ("119", "mmol/L"),
            ("119", "mg/dL"),
            ("119", "10*9/L"),
            ("119", "%"),
            ("586", "mL/min/{1.73_m2}"),
            ("380", "1"),
            ("380", "{ratio}"),
            ("507", "%"),
            ("121", "kcal"),
            ("349", "kg/m2"),
            ("385", "[iU]"),
            ("497", "deg"),
        ] {
            assert!(admits(code, units), "{code} {units}");
        }
        for (code, units) in [
            ("125", "kg"),
            ("124", "cm"),
            ("127", "/min"),
            ("380", "kg"),
            ("380", "/min"),
            ("382", "s"),
            ("119", "mmol"),
        ] {
            assert!(!admits(code, units), "{code} {units}");
        }
    }

    #[test]
    fn every_property_example_is_a_unit() {
        for property in PROPERTIES {
            for example in property.examples {
                assert!(dimension(example).is_some(), "{} {example}", property.name);
            }
        }
        let mut codes: Vec<&str> = PROPERTIES.iter().map(|property| property.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), PROPERTIES.len(), "codes are unique");
    }
}
