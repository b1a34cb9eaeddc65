-- A TOTP code is accepted once (RFC 6238 §5.2): the last accepted time step per user.
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
