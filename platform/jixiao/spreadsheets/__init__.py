"""Spreadsheets: the templates units fill (绩效目标申报表, 绩效监控表, 绩效自评表), imports and exports."""
