"""Customers, invoices and orders."""
