"""Monitoring after deployment: drift, prediction drift, performance and fairness per window, alerts.

:class:`Monitor` ingests production batches at high speed (counts only), joins labels by id when they
arrive, and stores every window as evidence plus a time series in the ledger.
"""

from __future__ import annotations

from raikit.monitor._monitor import Monitor, MonitorWindowResult, monitor_history

__all__ = ["Monitor", "MonitorWindowResult", "monitor_history"]
