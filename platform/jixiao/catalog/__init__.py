"""Indicator catalogs (共性指标库) offered by the tenant's plugins."""
