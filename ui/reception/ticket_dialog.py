"""A patient's ticket and their appointment's QR code, shown again (reception's "Show ticket
and QR"): what the kiosk printed, for a patient who lost it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.base.i18n import S_
from kiosk.domain.tokens import qr_code
from ui.staff_text import StaffText


class TicketDialog(QDialog):
    """A patient's ticket and their appointment's QR code, shown again."""

    def __init__(self, parent: QWidget, t: StaffText, ticket: str, provider: str,
                 token: str | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(t(S_("Ticket {ticket}"), ticket=ticket))
        layout = QVBoxLayout(self)
        big = QLabel(ticket)
        big.setStyleSheet("font-size: 56px; font-weight: 700; color: #0F5E6E;")
        big.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(big)
        layout.addWidget(QLabel(provider), alignment=Qt.AlignmentFlag.AlignCenter)
        self.qr = QLabel()
        if token is not None:
            image = qr_code(token).make_image().convert("RGB")
            data = image.tobytes("raw", "RGB")
            qimage = QImage(data, image.size[0], image.size[1], image.size[0] * 3,
                            QImage.Format.Format_RGB888).copy()
            self.qr.setPixmap(QPixmap.fromImage(qimage).scaledToWidth(260))
            layout.addWidget(self.qr, alignment=Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(QLabel(t(S_("Scan at the kiosk to see your place and wait."))),
                             alignment=Qt.AlignmentFlag.AlignCenter)
        close = QPushButton(t(S_("Close")))
        close.clicked.connect(self.accept)
        layout.addWidget(close)
