"""Outcomes: ground truth joined to the predictions it belongs to.

    outcome payloads -> OutcomeDecoder -> OutcomeJoin <- accepted predictions
                                             |
                                       PendingStore (SQLite, on disk)
                                             |
                             JoinedOutcomes per (model, prediction window)

The join attributes every outcome to its prediction's window, keeps the
predictions that wait for an outcome on disk, and is checkpointed with the
engine so that a crash neither joins an outcome twice nor loses one.
"""
