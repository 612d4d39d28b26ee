"""Documents: generated PDFs and spreadsheets, kept in the file store and listed on their record."""
