"""Starter spec files written by ``lrgen init`` (package data: ``*.yaml``)."""
