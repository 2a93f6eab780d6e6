-- EHR_STATUS.is_modifiable of the latest status, so a commit can refuse writes to an EHR
-- that may not be modified without reading the status document.
ALTER TABLE ehr ADD COLUMN is_modifiable INTEGER NOT NULL DEFAULT 1;
