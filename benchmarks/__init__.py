"""asv benchmark suite for nnplug (see asv.conf.json) and the head-to-head script compare.py."""
