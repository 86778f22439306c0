"""Drawn icons for the top bar's accessibility switches: they must fit five controls across a
portrait screen in every language, so they show a picture, and say their (translated) name
to screen readers and as a tooltip."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap


def _canvas(size: int) -> tuple[QPixmap, QPainter]:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    return pixmap, painter


def larger_text_icon(color: str, size: int = 44) -> QIcon:
    """A small and a large letter A."""
    pixmap, painter = _canvas(size)
    painter.setPen(QColor(color))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.42))
    painter.setFont(font)
    painter.drawText(QRectF(0, size * 0.3, size * 0.45, size * 0.6),
                     Qt.AlignmentFlag.AlignCenter, "A")
    font.setPixelSize(int(size * 0.8))
    painter.setFont(font)
    painter.drawText(QRectF(size * 0.35, 0, size * 0.65, size),
                     Qt.AlignmentFlag.AlignCenter, "A")
    painter.end()
    return QIcon(pixmap)


def contrast_icon(color: str, size: int = 44) -> QIcon:
    """A circle, half filled: the usual sign for contrast."""
    pixmap, painter = _canvas(size)
    pen = QPen(QColor(color), size / 12)
    painter.setPen(pen)
    margin = size / 8
    circle = QRectF(margin, margin, size - 2 * margin, size - 2 * margin)
    painter.drawEllipse(circle)
    painter.setBrush(QColor(color))
    painter.drawPie(circle, 90 * 16, 180 * 16)
    painter.end()
    return QIcon(pixmap)
