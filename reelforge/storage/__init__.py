"""Where inputs and outputs are kept, and how clients are given URLs to them."""

from reelforge.storage.base import Storage, check_key
from reelforge.storage.local import LocalStorage
from reelforge.storage.objects import ObjectStorage
from reelforge.storage.opening import open_storage
from reelforge.storage.signing import UrlSigner, load_secret

__all__ = [
    "LocalStorage",
    "ObjectStorage",
    "Storage",
    "UrlSigner",
    "check_key",
    "load_secret",
    "open_storage",
]
