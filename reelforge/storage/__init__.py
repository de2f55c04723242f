"""Where inputs and outputs are kept, and how clients are given URLs to them."""

from reelforge.storage.base import Storage, check_key
from reelforge.storage.local import LocalStorage
from reelforge.storage.objects import ObjectStorage
from reelforge.storage.opening import open_storage
from reelforge.storage.signing import UrlSigner, load_secret


def file_url(storage: Storage, signer: UrlSigner, key: str, expires: float, base_url: str) -> str:
    """A URL clients may fetch `key` from until `expires`, without a key: the store's own
    presigned URL where it has one, else this server's signed /files URL."""
    return storage.presigned_url(key, expires) or signer.url(base_url, key, expires)


__all__ = [
    "LocalStorage",
    "ObjectStorage",
    "Storage",
    "UrlSigner",
    "check_key",
    "file_url",
    "load_secret",
    "open_storage",
]
