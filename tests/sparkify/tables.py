"""Sparkify's staging tables in their default schema (SPARKIFY_STAGING_SCHEMA unset), as the tests load them."""

from pipeline.defs.sparkify.staging_tables import staging_tables

STAGING = staging_tables("staging")
STAGING_EVENTS, STAGING_SONGS = STAGING.events, STAGING.songs
