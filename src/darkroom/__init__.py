"""darkroom: a self-hosted media platform that speaks Cloudinary's wire protocol."""

__version__ = "0.1.0"
