-- A publication log entry may record a zone adopted from the signer
-- that published it before ptzone (outcome 'adopted'). The value is
-- only used after this migration's transaction commits (PostgreSQL 12
-- and later allow adding it inside one).
ALTER TYPE publication_outcome ADD VALUE 'adopted';
