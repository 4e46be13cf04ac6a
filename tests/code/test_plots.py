"""The report plots are written as real PNG files, with Chinese labels."""

import numpy as np

from minyi_nlp.models import plots

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_report_plot_writes_a_png(tmp_path):
    labels = ["城乡建设", "教育文体"]
    written = [
        plots.plot_confusion(np.array([[5, 1], [2, 7]]), labels, tmp_path / "cm.png"),
        plots.plot_reliability([{"confidence": 0.85, "accuracy": 0.8, "count": 10, "lower": 0.8, "upper": 0.9}],
                               0.05, tmp_path / "rel.png"),
        plots.plot_per_class_f1({"城乡建设": {"f1": 0.9}, "教育文体": {"f1": 0.8}}, tmp_path / "f1.png"),
        plots.plot_experiments([{"name": "默认", "f1_mean": 0.919, "f1_std": 0.013, "ece_mean": 0.03},
                                {"name": "b", "f1_mean": 0.909, "f1_std": 0.02, "ece_mean": 0.04}],
                               tmp_path / "exp.png", targets={"目标": 0.91, "goal": 0.94}),
        plots.plot_learning_curve([{"train_appeals": n, "macro_f1_mean": f, "macro_f1_std": 0.01, "ece_mean": 0.03,
                                    "ece_std": 0.005} for n, f in ((1500, 0.88), (6000, 0.92))],
                                  tmp_path / "lc.png", goal=0.94),
        plots.plot_growth([326, 653, 1306], {"top-1": [(0.5, 0.49, 0.52), (0.55, 0.54, 0.57), (0.6, 0.6, 0.6)]},
                          tmp_path / "growth.png", targets={"top-1": 0.7}, xlabel="行", ylabel="top-1", title="部门"),
    ]
    for path in written:
        assert path.read_bytes()[:8] == PNG
