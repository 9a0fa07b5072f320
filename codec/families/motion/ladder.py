"""``motion``'s quality ladder (:mod:`codec.tools.ladder`): ``--quality`` 1..8 as (the intra and
residual syntheses' hidden channels, lambda, an intra frame's steps; inter frames train
:func:`codec.families.motion.presets.frame_steps` of it)."""

from codec.tools.ladder import Ladder, Rung

LADDER = Ladder(
    rungs=(
        Rung(12, 2.0e-2, 600),
        Rung(12, 1.2e-2, 600),
        Rung(16, 7e-3, 700),
        Rung(16, 4e-3, 800),
        Rung(16, 2.4e-3, 800),
        Rung(16, 1.4e-3, 900),
        Rung(16, 8e-4, 1000),
        Rung(16, 4.5e-4, 1200),
    ),
    measured="lambdas and widths: first guesses from grid's ladder, to be swept (scripts/sweep_ladder.py "
             "--families motion); steps doubled (presets.NETWORK_STEPS says what that measured)",
)
