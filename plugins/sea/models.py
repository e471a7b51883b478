"""The ``seas`` table: one public sea (公海) per row, with the pool rule columns of :class:`PoolMixin`."""

from __future__ import annotations

from kernel import Base, RecordMixin
from plugins.pools import PoolMixin


class Sea(RecordMixin, PoolMixin, Base):
    __tablename__ = "sea_seas"


SEAS = Sea.__table__
