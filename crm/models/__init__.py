"""The models, one module per aggregate; imported here so that Alembic sees every table."""

from crm.models.credentials import ApiKey, StaffToken
from crm.models.user import Role, StaffSession, User

__all__ = ["ApiKey", "Role", "StaffSession", "StaffToken", "User"]
