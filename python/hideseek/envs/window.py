"""A window for PettingZoo's ``render_mode="human"``: each frame the env renders (an RGB array)
is shown in a pygame (SDL 2) window at the env's frame rate. pygame is the ``human`` extra
(``pip install 'hideseek[human]'``); it is imported only when a window opens."""

from __future__ import annotations

import numpy as np
from gymnasium.error import DependencyNotInstalled

HUMAN_EXTRA = "pip install 'hideseek[human]'"


class Window:
    """Opens on the first frame, closes with :meth:`close` or when the user closes it."""

    def __init__(self, title: str, fps: float):
        self.title, self.fps = title, fps
        self._pg = None
        self._screen = None
        self._clock = None
        self.closed_by_user = False

    def _open(self, width: int, height: int) -> None:
        import os
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")   # no banner on import
        try:
            import pygame
        except ImportError:
            raise DependencyNotInstalled(
                f'render_mode="human" needs pygame: {HUMAN_EXTRA}') from None
        pygame.display.init()
        self._screen = pygame.display.set_mode((width, height))
        pygame.display.set_caption(self.title)
        self._clock = pygame.time.Clock()
        self._pg = pygame

    def show(self, frame: np.ndarray) -> None:
        """Draw ``frame`` [H, W, 3] uint8, handle window events, keep to ``fps``."""
        if self.closed_by_user:
            return
        if self._pg is None:
            self._open(frame.shape[1], frame.shape[0])
        pg = self._pg
        for event in pg.event.get():
            if event.type == pg.QUIT:   # the user closed it: stop drawing, let the env run on
                self.close()
                self.closed_by_user = True
                return
        # pygame surfaces are indexed [x, y]: transpose the image's rows and columns.
        pg.surfarray.blit_array(self._screen, np.ascontiguousarray(frame.transpose(1, 0, 2)))
        pg.display.flip()
        self._clock.tick(self.fps)

    @property
    def is_open(self) -> bool:
        return self._pg is not None

    def close(self) -> None:
        if self._pg is not None:
            self._pg.display.quit()
            self._pg = self._screen = self._clock = None
