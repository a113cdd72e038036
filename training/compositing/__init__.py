"""Defect compositing: realistic stains, holes, tears, scuffs, pilling, fading and snags on clean photos.

Makes labelled condition-grade data where none exists: each composite carries its masks, defect types,
severities and a grade computed from them by a documented rule (`grade_rule`).
"""
