"""The Streamlit explorer: pages in views/, data access in data.py (through catalog/ only)."""
