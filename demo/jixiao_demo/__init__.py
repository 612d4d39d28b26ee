"""Jixiao demo data at province scale (``jixiao demo load --province CODE``).

Importing this package registers nothing: the core finds ``jixiao_demo.province:generate`` through the entry-point
group ``jixiao.demo_generators`` when the command asks for it.
"""
