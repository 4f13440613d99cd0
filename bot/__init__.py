"""Lotsen: the multilingual front desk of a municipality's integration services."""
