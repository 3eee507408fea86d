"""Enrichment: cleanup, language, entities, dates, outlets. (Interface; see the modules.)"""
