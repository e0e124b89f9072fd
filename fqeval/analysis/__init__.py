"""Statistics over judgment tables: rates, scores, bootstrap CIs, agreement, bias, ranking.

Pure functions: a judgment table (:func:`judgments_frame`, :func:`read_judgments`) in, numbers
or JSON-ready dicts out. :func:`summarize` builds ``summary.json``.
"""

from fqeval.analysis._agreement import (
    adjacent_agreement,
    cohen_kappa,
    exact_agreement,
    fleiss_kappa,
    krippendorff_alpha,
)
from fqeval.analysis._agreement_report import agreement_report
from fqeval.analysis._bootstrap import bootstrap_mean_ci, percentile_interval, resample_weights
from fqeval.analysis._frame import (
    RECORD_COLUMNS,
    judgments_frame,
    judgments_frame_from_columns,
    read_judgments,
)
from fqeval.analysis._multiplicity import CORRECTIONS, adjust_p_values
from fqeval.analysis._paired import PairedDrops, paired_drops, panel_units
from fqeval.analysis._ranking import (
    AVERAGES,
    METRIC_FAMILIES,
    Metric,
    RankingResult,
    evaluate,
    parse_metric,
)
from fqeval.analysis._summary import METRIC_OF_MODE, MODES, SCHEMA_VERSION, json_safe, summarize
from fqeval.analysis._trec_io import read_qrels, read_run

__all__ = [
    "AVERAGES",
    "CORRECTIONS",
    "METRIC_FAMILIES",
    "METRIC_OF_MODE",
    "MODES",
    "RECORD_COLUMNS",
    "SCHEMA_VERSION",
    "Metric",
    "PairedDrops",
    "RankingResult",
    "adjacent_agreement",
    "adjust_p_values",
    "agreement_report",
    "bootstrap_mean_ci",
    "cohen_kappa",
    "evaluate",
    "exact_agreement",
    "fleiss_kappa",
    "json_safe",
    "judgments_frame",
    "judgments_frame_from_columns",
    "krippendorff_alpha",
    "paired_drops",
    "panel_units",
    "parse_metric",
    "percentile_interval",
    "read_judgments",
    "read_qrels",
    "read_run",
    "resample_weights",
    "summarize",
]
