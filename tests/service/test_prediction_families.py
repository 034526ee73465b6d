"""Runtime prediction per family for ConvNeXt and ViT (real Redis): a planted physical law over
measured ViT plans is predicted exactly for an unmeasured ViT plan, and a ConvNeXt plan, another
family, gets no prediction from them (each family has its own model)."""

from __future__ import annotations

import pytest

from service.prediction.predictor import MIN_POINTS, Predictor
from tests.service.test_prediction import law, measure, plan


def test_a_vit_law_predicts_vits_and_nothing_for_convnext(store):
    plans = [plan("ViT-S/16", f, s) for s in ("w", "dWr") for f in (1.5, 2, 3, 4)]
    for p in plans:
        measure(store, p, law(p))
    predictor = Predictor(store.points)
    query = plan("ViT-S/16", 2.5, "dWr")
    (entry,) = predictor.entries(query)["entries"]
    assert entry["family"] == "vit" and entry["source"] == "model" and entry["n"] >= MIN_POINTS
    assert entry["ms"] == pytest.approx(law(query), rel=1e-6)
    assert predictor.entries(plan("ConvNeXt-T", 2))["status"] == "no model yet"
