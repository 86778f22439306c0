"""Five faces for "How was checking in today?", drawn rather than taken from an emoji font
(which many kiosk machines lack)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap


def face_icon(score: int, size: int = 56, color: str = "#1B2A2F") -> QIcon:
    """Score 1 (very bad: a deep frown) to 5 (very good: a broad smile)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(color), size / 14)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    margin = size / 12
    painter.drawEllipse(QRectF(margin, margin, size - 2 * margin, size - 2 * margin))
    painter.setBrush(QColor(color))
    eye = size / 16
    for x in (0.36, 0.64):
        painter.drawEllipse(QPointF(size * x, size * 0.4), eye, eye)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    curve = (score - 3) * size * 0.09  # positive: smile, negative: frown
    mouth = QPainterPath(QPointF(size * 0.32, size * 0.66 - curve / 2))
    mouth.quadTo(QPointF(size * 0.5, size * 0.66 + curve * 1.5),
                 QPointF(size * 0.68, size * 0.66 - curve / 2))
    painter.drawPath(mouth)
    painter.end()
    return QIcon(pixmap)
