-- Accounts and their append-only journal. The balance rules live here too, so no code path can
-- break them: 0 <= balance <= 2^53-1, and every entry is kept forever.

CREATE TABLE accounts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_number text        NOT NULL UNIQUE CHECK (account_number ~ '^[0-9]{16}$'),
    balance_cents  bigint      NOT NULL DEFAULT 0
                   CHECK (balance_cents >= 0 AND balance_cents <= 9007199254740991),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- amount_cents is signed (+ deposit, - withdrawal) so that balance = sum(amount_cents).
CREATE TABLE entries (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id          bigint      NOT NULL REFERENCES accounts (id),
    kind                text        NOT NULL,
    amount_cents        bigint      NOT NULL,
    balance_after_cents bigint      NOT NULL
                        CHECK (balance_after_cents >= 0 AND balance_after_cents <= 9007199254740991),
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'deposit' AND amount_cents > 0 AND amount_cents <= 9007199254740991)
        OR (kind = 'withdrawal' AND amount_cents < 0 AND amount_cents >= -9007199254740991))
);

CREATE INDEX entries_account_id_id_idx ON entries (account_id, id);

CREATE FUNCTION entries_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: % on entries refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER entries_no_update_or_delete
    BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION entries_are_append_only();

CREATE TRIGGER entries_no_truncate
    BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION entries_are_append_only();
