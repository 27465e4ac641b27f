"""Lead scoring: model evaluation, business metrics, score grades and report figures."""
