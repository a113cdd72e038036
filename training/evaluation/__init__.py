"""Evaluate a model bundle on a manifest split: predictions, metrics, plots and a self-contained HTML report.

`collect_predictions` runs the bundle (ONNX Runtime) over the split; `sections` turns predictions into one
result per task (category, defects, anomaly, grade, authenticity), computing only what the manifest's labels
allow; `plots` and `gallery` draw them; `report` writes `metrics.json` and `report.html`.
"""

BATCH_SIZE = 32  # photos per ONNX Runtime call; defined here so the CLI reads it without heavy imports
