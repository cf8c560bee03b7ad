"""Password hashing (argon2id through argon2-cffi) and generated passwords."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from oncoreg.errors import Problem, ValidationFailed

HASHER = PasswordHasher()  # argon2id with the library's current defaults (RFC 9106 low-memory profile)
MIN_LENGTH = 12
# Verified when the user does not exist, so that a missing account costs the same time as a wrong password.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


def check_policy(password: str) -> None:
    """Refuse passwords shorter than ``MIN_LENGTH`` characters (NIST SP 800-63B favours length)."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            [Problem("password", "***", "password.length", f"needs at least {MIN_LENGTH} characters")]
        )


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (policy checked first)."""
    check_policy(password)
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; a missing hash still costs one verification."""
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password of 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)
