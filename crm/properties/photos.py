"""Property photos: check the content, re-encode, make a thumbnail, store under random names.

The file name and extension a browser sends are ignored: the bytes must decode as JPEG, PNG
or WebP. Every photo is re-encoded (which drops EXIF data such as GPS positions and any
payload hidden after the image) and gets a thumbnail 400 px wide. Files live in
``app.config["CRM_PHOTO_DIR"]`` or ``instance/photos`` under random names.
"""

from __future__ import annotations

import re
import secrets
import warnings
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from crm.database import write_transaction
from crm.exceptions import NotFound, ValidationFailed
from crm.extensions import db
from crm.models import Property, PropertyPhoto, User
from crm.properties.service import require_editor

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 50_000_000  # decoding more than this is a decompression bomb, not a photo
MAX_SIDE = 2560  # larger photos are scaled down: nobody needs more on a web page
THUMB_WIDTH = 400
MAX_PHOTOS = 30
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
# What the photo route accepts: our own random names only (no paths, no dots but one).
NAME_PATTERN = re.compile(r"^[0-9a-f]{32}(?:_t)?\.(?:jpg|png|webp)$")


def photo_dir() -> Path:
    """Where photos are stored (created on first use)."""
    configured = current_app.config.get("CRM_PHOTO_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "photos"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_photo_path(name: str) -> Path | None:
    """The file for a requested name, or None when the name is not one of ours."""
    if not NAME_PATTERN.fullmatch(name):
        return None
    path = photo_dir() / name
    return path if path.is_file() else None


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, {"photo": [message]})


def _decode(data: bytes) -> Image.Image:
    """The image in the bytes, fully decoded; only JPEG, PNG and WebP of sane size pass."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data))
            if image.format not in FORMATS:
                raise _refuse(_("Please upload a JPEG, PNG or WebP image."))
            width, height = image.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise _refuse(_("The image is too large (at most 50 megapixels)."))
            image.load()
    except ValidationFailed:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise _refuse(_("Please upload a JPEG, PNG or WebP image.")) from exc
    return image


def _encoded(image: Image.Image, fmt: str) -> bytes:
    out = BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True, progressive=True)
    elif fmt == "PNG":
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
    else:
        has_alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
        image.convert("RGBA" if has_alpha else "RGB").save(out, "WEBP", quality=85)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> Image.Image:
    width, height = image.size
    if width <= THUMB_WIDTH:
        return image.copy()
    size = (THUMB_WIDTH, max(1, round(height * THUMB_WIDTH / width)))
    source = image if image.mode in ("RGB", "RGBA", "L", "LA") else image.convert("RGBA")
    return source.resize(size, Image.Resampling.LANCZOS)


def prepare_photo(data: bytes) -> tuple[str, bytes, bytes]:
    """(extension, re-encoded photo, thumbnail) from uploaded bytes, or ValidationFailed."""
    if not data:
        raise _refuse(_("Please choose a photo to upload."))
    if len(data) > MAX_BYTES:
        raise _refuse(_("The photo is larger than 8 MB."))
    image = _decode(data)
    fmt = image.format
    image = ImageOps.exif_transpose(image)
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return FORMATS[fmt], _encoded(image, fmt), _encoded(_thumbnail(image), fmt)


def add_photo(user: User, prop: Property, stream: BinaryIO, caption: str | None) -> PropertyPhoto:
    """Check, re-encode and store an uploaded photo for the property (managers and admins)."""
    require_editor(user)
    if len(prop.photos) >= MAX_PHOTOS:
        raise _refuse(_("A property has at most %(n)s photos.", n=MAX_PHOTOS))
    extension, photo, thumb = prepare_photo(stream.read(MAX_BYTES + 1))
    stem = secrets.token_hex(16)
    folder = photo_dir()
    names = (f"{stem}.{extension}", f"{stem}_t.{extension}")
    for name, content in zip(names, (photo, thumb), strict=True):
        (folder / name).write_bytes(content)
    try:
        with write_transaction() as session:
            position = max((p.position for p in prop.photos), default=-1) + 1
            item = PropertyPhoto(
                property_id=prop.id,
                filename=names[0],
                thumbnail=names[1],
                caption=(caption or "").strip()[:200] or None,
                position=position,
            )
            session.add(item)
    except Exception:
        _unlink(names)
        raise
    db.session.expire(prop, ["photos"])  # the session keeps objects across commits
    return item


def delete_photo(user: User, prop: Property, photo_id: int) -> None:
    """Remove a photo of the property and its files."""
    require_editor(user)
    photo = db.session.get(PropertyPhoto, photo_id)
    if photo is None or photo.property_id != prop.id:
        raise NotFound(_("No such photo."))
    names = (photo.filename, photo.thumbnail)
    with write_transaction() as session:
        session.delete(photo)
    db.session.expire(prop, ["photos"])
    _unlink(names)


def _unlink(names: tuple[str, ...]) -> None:
    folder = photo_dir()
    for name in names:
        if NAME_PATTERN.fullmatch(name):
            (folder / name).unlink(missing_ok=True)
