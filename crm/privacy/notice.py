"""The privacy notice (PIPL Art. 17) shown next to the consent box; its version is stored."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _


@dataclass(frozen=True)
class PrivacyNotice:
    version: str
    controller: str
    purpose: str
    data: str
    retention: str
    rights: str


def current_notice() -> PrivacyNotice:
    """The notice in force, in the reader's language."""
    config = current_app.config
    days = config["CRM_RETENTION_DAYS"]
    return PrivacyNotice(
        version=config["CRM_PRIVACY_NOTICE_VERSION"],
        controller=config.get("CRM_CONTROLLER_NAME") or _("the park's investment promotion office"),
        purpose=_(
            "to answer your inquiry and match you with suitable factories, warehouses or land"
        ),
        data=_(
            "your company, contact name, phone number, e-mail, WeChat ID and what you wrote "
            "about your need, use and tax"
        ),
        retention=_("%(days)s days after your inquiry is closed, then erased", days=days),
        rights=_(
            "you may ask to see, correct, copy or erase your data, or withdraw consent, by "
            "calling or writing to us with your inquiry reference"
        ),
    )
