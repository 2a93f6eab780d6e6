-- The records (EHRs) an audit event concerns besides its person's: those whose data a
-- query's answer showed, the other record of a merge. They are in the event's hashed bytes
-- (`records`); these rows are the lookup a person's access log reads them by.
CREATE TABLE audit_record (
    seq INTEGER NOT NULL,
    ehr_id BLOB NOT NULL,
    PRIMARY KEY (seq, ehr_id)
) WITHOUT ROWID;
CREATE INDEX audit_record_ehr ON audit_record (ehr_id, seq);
