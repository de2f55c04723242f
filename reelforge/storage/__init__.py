"""Where inputs and outputs are kept, and how clients are given URLs to them."""

from reelforge.storage.local import LocalStorage
from reelforge.storage.signing import UrlSigner, load_secret

__all__ = ["LocalStorage", "UrlSigner", "load_secret"]
