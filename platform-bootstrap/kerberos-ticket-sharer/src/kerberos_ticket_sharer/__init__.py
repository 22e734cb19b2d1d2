"""Kerberos ticket sharer: copies the developer's valid TGT into the volume datakits mount."""

__version__ = "0.1.0"
