"""Alignment app: W-matrices, quality certificates, compatibility estimates, drift checks, alignment jobs."""
