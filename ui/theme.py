"""The kiosk's look: large, calm, high legibility; a high-contrast variant and larger text.

Sizes are pixels at the kiosk's design size (1280 x 800); body text is never below 24 px and
touch targets never below 60 px high (the keys of the two densest keyboards: 52 x 44). Larger
text enlarges everything a patient reads: body text (and so every button's label, the fields
and the keys) by 30 %; titles and the keys of the densest keyboards by 20 %; the top bar's
buttons by 14 %, as much as five controls across a 1024-pixel screen hold in Tagalog. On a
screen shorter than the design size (a 720p panel, 1024 x 768) buttons and fields are 68 px
high instead of 80, so that every screen fits.
"""

from __future__ import annotations

from dataclasses import dataclass

BODY_PX = 28
TITLE_PX = 42
BUTTON_HEIGHT_PX = 64
SHORT_BUTTON_HEIGHT_PX = 52  # on a short screen: with padding and border, 68 px high
KEY_HEIGHT_PX = 60  # on-screen keyboard keys: the floor for touch targets, so a keyboard fits
# Keys of the keyboards with the most letters (Hangul, Devanagari), so that they fit a 1024 x 768
# screen: still above the 44 px WCAG 2.5.5 asks of a touch target.
DENSE_KEY_HEIGHT_PX, DENSE_KEY_WIDTH_PX = 52, 44
LARGER = 1.3  # body text: every button's label, the fields, the keys
# Titles and the keys of the densest keyboards: large already, and the screen must still hold
# a keyboard of four rows, 15 keys across, on 1024 x 768.
LARGER_FRAME = 1.2
# The top bar's buttons with larger text: 14 % larger, all that five controls across a
# 1024-pixel screen hold in the longest language (Tagalog: 949 of 960 pixels).
BAR_LARGER_PX = 32


@dataclass(frozen=True)
class Palette:
    background: str
    surface: str
    text: str
    muted: str
    primary: str
    primary_text: str
    outline: str
    danger: str
    focus: str


CALM = Palette(background="#F4F7F6", surface="#FFFFFF", text="#1B2A2F", muted="#3F5359",
               primary="#0F5E6E", primary_text="#FFFFFF", outline="#8AA1A6", danger="#9B1C1C",
               focus="#E3A008")
HIGH_CONTRAST = Palette(background="#000000", surface="#000000", text="#FFFFFF",
                        muted="#FFFFFF", primary="#FFFF00", primary_text="#000000",
                        outline="#FFFFFF", danger="#FF6B6B", focus="#00FFFF")


def sizes(larger: bool, short: bool = False) -> tuple[int, int, int]:
    """Body text, titles, button height. Larger text enlarges the body text (and so every
    button's label) and, a little less, the titles. A short screen has lower buttons and
    fields (the text keeps its size)."""
    return (round(BODY_PX * (LARGER if larger else 1.0)), frame_px(TITLE_PX, larger),
            SHORT_BUTTON_HEIGHT_PX if short else BUTTON_HEIGHT_PX)


def frame_px(px: int, larger: bool) -> int:
    """A size that larger text enlarges by :data:`LARGER_FRAME`: titles, the keys of the
    densest keyboards."""
    return round(px * (LARGER_FRAME if larger else 1.0))


def stylesheet(*, high_contrast: bool = False, larger: bool = False,
               short: bool = False) -> str:
    p = HIGH_CONTRAST if high_contrast else CALM
    body, title, button = sizes(larger, short)
    # The top bar (Start over, the language, the two switches, Help) grows less, with less
    # padding: five controls must fit across a 1024-pixel screen in Tagalog and Russian.
    bar, bar_padding = (BAR_LARGER_PX, 10) if larger else (BODY_PX, 14)
    return f"""
    QWidget#kiosk {{ background: {p.background}; }}
    QWidget {{ color: {p.text}; font-size: {body}px; }}
    QLabel[role="title"] {{ font-size: {title}px; font-weight: 600; }}
    QLabel[role="hint"] {{ color: {p.muted}; }}
    QLabel[role="lead"] {{ font-size: {round(body * 1.25)}px; font-weight: 600; }}
    QLabel[role="problem"] {{ color: {p.danger}; font-weight: 600; }}
    QLabel[role="ticket"] {{ font-size: {round(title * 1.6)}px; font-weight: 700;
                            color: {p.primary}; }}
    QFrame[role="card"] {{ background: {p.surface}; border: 2px solid {p.outline};
                           border-radius: 18px; }}
    QPushButton {{ min-height: {button}px; padding: 6px 22px; border-radius: 14px;
                  background: {p.surface}; border: 2px solid {p.outline}; }}
    QPushButton[role="primary"] {{ background: {p.primary}; color: {p.primary_text};
                                  border: 2px solid {p.primary}; font-weight: 600; }}
    QPushButton[role="primary"] QLabel {{ color: {p.primary_text}; font-weight: 600;
                                         background: transparent; }}
    QPushButton[role="help"] {{ border: 3px solid {p.danger}; color: {p.danger};
                               font-weight: 600; font-size: {bar}px;
                               padding: 6px {bar_padding}px; }}
    QPushButton[role="bar"] {{ font-size: {bar}px; padding: 6px {bar_padding}px; }}
    QPushButton[role="language"] {{ padding: 6px 10px; }}
    QPushButton[role="key"] {{ min-height: {KEY_HEIGHT_PX}px; min-width: {BUTTON_HEIGHT_PX}px;
                              padding: 0; font-size: {round(body * 1.1)}px; }}
    QPushButton[role="key"][dense="true"] {{ min-height: {DENSE_KEY_HEIGHT_PX}px;
                                             min-width: {DENSE_KEY_WIDTH_PX}px;
                                             font-size: {frame_px(BODY_PX, larger)}px; }}
    QPushButton[role="key"][script="ko"] {{
        font-size: {frame_px(round(BODY_PX * 1.25), larger)}px; }}
    QPushButton:checked {{ background: {p.primary}; color: {p.primary_text}; }}
    QPushButton:focus, QLineEdit:focus {{ border: 4px solid {p.focus}; }}
    QLineEdit {{ min-height: {button}px; padding: 0 16px; border-radius: 12px;
                background: {p.surface}; border: 2px solid {p.outline};
                font-size: {round(body * 1.2)}px; }}
    QLabel[role="western-digit"] {{ font-size: {round(body * 0.65)}px; color: {p.muted};
                                   background: transparent; }}
    QPushButton[role="clear"] {{ min-height: {button}px; padding: 0 16px; }}
    QFrame[role="overlay"] {{ background: rgba(0, 0, 0, 150); }}
    """
