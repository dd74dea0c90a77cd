import numpy as np
import pytest

from handwriting import strokes as S


@pytest.fixture
def coords():
    rng = np.random.default_rng(0)
    xy = np.cumsum(rng.normal(size=(40, 2)), axis=0).astype(np.float32)
    pen = np.zeros((40, 1), np.float32)
    pen[[9, 24, 39]] = 1
    return np.hstack([xy, pen])


def test_offsets_round_trip(coords):
    offsets = S.coords_to_offsets(coords)
    np.testing.assert_array_equal(offsets[:, 2], coords[:, 2])
    np.testing.assert_allclose(offsets[0, :2], coords[0, :2])
    np.testing.assert_allclose(S.offsets_to_coords(offsets), coords, atol=1e-5)


def test_split_and_join_round_trip(coords):
    parts = S.split_strokes(coords)
    assert [len(p) for p in parts] == [10, 15, 15]
    np.testing.assert_array_equal(S.join_strokes(parts), coords)


def test_split_keeps_a_trailing_unfinished_stroke(coords):
    open_end = coords.copy()
    open_end[-1, 2] = 0
    assert [len(p) for p in S.split_strokes(open_end)] == [10, 15, 15]


def test_bounding_box():
    c = np.array([[1, 2, 0], [-3, 5, 0], [4, -1, 1]], np.float32)
    assert S.bounding_box(c) == (-3.0, -1.0, 4.0, 5.0)
    with pytest.raises(ValueError):
        S.bounding_box(np.zeros((0, 3)))


def test_scale_is_the_pooled_step_spread_and_round_trips(coords):
    offsets = S.coords_to_offsets(coords)
    scale = S.estimate_scale([offsets])
    assert scale == pytest.approx(np.std(offsets[1:, :2]), rel=1e-6)
    normalised = S.normalise_offsets(offsets, scale)
    assert np.std(normalised[1:, :2]) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(S.denormalise_offsets(normalised, scale), offsets, rtol=1e-6)


def test_remove_duplicate_points_keeps_pen_lifts():
    c = np.array([[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 0, 1], [5, 5, 1]], np.float32)
    out = S.remove_duplicate_points(c)
    np.testing.assert_array_equal(out, [[0, 0, 0], [1, 0, 1], [5, 5, 1]])


def test_drop_outlier_steps_removes_glitches_but_keeps_pen_up_moves():
    c = np.array([[0, 0, 0], [1, 0, 0], [90, 90, 0], [2, 0, 1], [50, 0, 0], [51, 0, 1]], np.float32)
    out = S.drop_outlier_steps(c, max_step=10)
    np.testing.assert_array_equal(out[:, 0], [0, 1, 2, 50, 51])
    np.testing.assert_array_equal(out[:, 2], [0, 0, 1, 0, 1])
    glitch_first = np.array([[5000, 5000, 0], [0, 0, 0], [10, 0, 0], [20, 0, 1]], np.float32)
    np.testing.assert_array_equal(S.drop_outlier_steps(glitch_first, 100)[:, 0], [0, 10, 20])
    glitch_last = np.array([[0, 0, 0], [10, 0, 0], [20, 0, 0], [-900, 0, 1]], np.float32)
    np.testing.assert_array_equal(S.drop_outlier_steps(glitch_last, 100), [[0, 0, 0], [10, 0, 0], [20, 0, 1]])


def test_smooth_reduces_noise_and_keeps_ends():
    rng = np.random.default_rng(1)
    x = np.linspace(0, 10, 50)
    clean = np.stack([x, np.zeros_like(x)], 1)
    noisy = clean + rng.normal(scale=0.2, size=clean.shape)
    c = S.join_strokes([noisy])
    out = S.smooth(c, window=5)
    assert np.abs(out[:, 1]).mean() < np.abs(noisy[:, 1]).mean()
    np.testing.assert_allclose(out[[0, -1], :2], noisy[[0, -1]], atol=1e-5)


def test_savgol_smooth_fits_a_local_polynomial_and_keeps_pen_lifts():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(2)
    t = np.linspace(0, 1, 40)
    cubic = np.stack([t, 2 * t**3 - t**2 + 0.5 * t], 1)  # degree 3 passes through a cubic filter unchanged
    noisy = cubic + rng.normal(scale=0.01, size=cubic.shape)
    short = np.array([[5.0, 5.0], [6.0, 7.0], [7.0, 5.0]])  # fewer points than the window: left alone
    line = S.join_strokes([cubic, noisy, short])
    out = S.savgol_smooth(line, window=7, order=3)
    np.testing.assert_allclose(out[:40, :2], cubic, atol=1e-5)
    np.testing.assert_array_equal(out[:, 2], line[:, 2])
    np.testing.assert_allclose(out[80:, :2], short, atol=1e-6)
    # An interior point is the value at its centre of the least-squares cubic through its 7 neighbours.
    k = 60
    fit = np.polyfit(np.arange(-3, 4), line[k - 3:k + 4, :2], 3)
    np.testing.assert_allclose(out[k, :2], fit[-1], atol=1e-5)
    assert np.abs(out[40:80, :2] - cubic).mean() < np.abs(noisy - cubic).mean()
    np.testing.assert_array_equal(S.savgol_smooth(line, window=1), line)  # a window under 3: unchanged
    assert S.savgol_smooth(line, window=6).shape == line.shape  # an even window is widened to odd


def test_align_baseline_levels_a_tilted_line():
    x = np.linspace(0, 100, 200)
    letters = 5 * np.abs(np.sin(x / 3))  # bumps resting on y = 0
    angle = np.deg2rad(8)
    flat = S.join_strokes([np.stack([x + 20, letters + 7], 1)])
    tilted = S.rotate(flat, angle)
    out = S.align_baseline(tilted)
    assert S.baseline_angle(out) == pytest.approx(0.0, abs=1e-3)
    assert out[:, 0].min() == pytest.approx(0.0, abs=1e-4)
    assert abs(S.baseline_height(out)) < 1e-4
    np.testing.assert_allclose(out[:, 1].min(), 0.0, atol=0.3)


def test_deslant_undoes_a_shear():
    # Upright strokes of several letters, then sheared 20 degrees to the right.
    upright = S.join_strokes([np.stack([np.full(20, k * 10.0), np.linspace(0, 30, 20)], 1) for k in range(5)])
    slanted = S.shear(upright, np.deg2rad(20))
    assert S.estimate_slant(slanted) == pytest.approx(np.deg2rad(20), abs=1e-4)
    np.testing.assert_allclose(S.deslant(slanted), upright, atol=1e-4)


def test_set_slant_reads_back_the_slant_it_set():
    rng = np.random.default_rng(5)
    coords = S.join_strokes([np.cumsum(rng.normal(size=(40, 2)) * [0.5, 1.0], axis=0) for _ in range(4)])
    for degrees in (-20.0, 0.0, 12.5, 30.0):
        assert np.degrees(S.estimate_slant(S.set_slant(coords, np.radians(degrees)))) == pytest.approx(degrees, abs=0.01)


def test_resample_by_arc_length_gives_even_spacing_and_keeps_ends():
    stroke = np.array([[0, 0], [10, 0], [10, 5]], np.float32)
    out = S.resample_stroke(stroke, spacing=1.0)
    steps = np.linalg.norm(np.diff(out, axis=0), axis=1)
    assert len(out) == 16
    np.testing.assert_allclose(steps, 1.0, atol=1e-5)
    np.testing.assert_allclose(out[[0, -1]], stroke[[0, -1]])
    coords = S.join_strokes([stroke, stroke + 20])
    assert len(S.split_strokes(S.resample(coords, 1.0))) == 2


def _band(height: float, step: float) -> np.ndarray:
    """Zigzag strokes filling y in [0, height] evenly, sampled every ``step`` along x."""
    x = np.arange(0.0, 4 * height + 1e-9, step)
    y = height * np.abs(((x / height) * 2) % 2 - 1)
    return S.join_strokes([np.stack([x, y], 1), np.stack([x + 5 * height, y], 1)])


def test_ink_quantiles_follow_the_ink_not_the_sampling():
    dense, sparse = _band(1.0, 0.01), _band(1.0, 0.25)
    np.testing.assert_allclose(S.ink_quantiles(dense, [0.25, 0.5, 0.75]), [0.25, 0.5, 0.75], atol=0.02)
    np.testing.assert_allclose(S.ink_quantiles(sparse, [0.25, 0.75]), [0.25, 0.75], atol=0.02)
    with pytest.raises(ValueError):
        S.ink_quantiles(np.zeros((0, 3)), [0.5])


def test_ink_quantiles_match_a_fine_resampling_of_random_strokes():
    rng = np.random.default_rng(4)
    coords = S.join_strokes([np.cumsum(rng.normal(size=(n, 2)), axis=0) for n in (2, 7, 30, 15)])
    coords = np.vstack([coords, [[3.0, 1.0, 1.0]]]).astype(np.float32)  # and a dot
    # reference: points every 1e-4 along each segment (no dot weight needed at that density)
    points = [np.linspace(a, b, max(int(np.hypot(*(b - a)) / 1e-4), 2))[:, 1]
              for stroke in S.split_strokes(coords) for a, b in zip(stroke[:-1].astype(np.float64), stroke[1:])]
    quantiles = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
    np.testing.assert_allclose(S.ink_quantiles(coords, quantiles), np.quantile(np.concatenate(points), quantiles),
                               atol=2e-3 * np.ptp(coords[:, 1]))


def test_ink_quantiles_of_dots_and_level_strokes_are_their_heights():
    dots = np.array([[0, 0, 1], [1, 2, 1], [2, 4, 1]], np.float32)
    np.testing.assert_allclose(S.ink_quantiles(dots, [0.0, 0.5, 1.0]), [0, 2, 4])
    level = np.array([[0, 1, 0], [5, 1, 1]], np.float32)
    np.testing.assert_allclose(S.ink_quantiles(level, [0.1, 0.9]), [1, 1])


def test_estimate_x_height_scales_and_shrugs_off_an_ascender():
    band = _band(1.0, 0.02)
    base = S.estimate_x_height(band)
    assert base == pytest.approx(S.X_HEIGHT_PER_BAND * 0.5, rel=0.05)
    scaled = band.copy()
    scaled[:, :2] *= 3
    assert S.estimate_x_height(scaled) == pytest.approx(3 * base, rel=1e-3)
    ascender = S.join_strokes([np.stack([np.full(20, 2.0), np.linspace(0, 2.5, 20)], 1)])
    assert S.estimate_x_height(np.vstack([band, ascender])) == pytest.approx(base, rel=0.15)


def test_resampling_in_time_keeps_the_pen_s_speed_profile():
    # a stroke drawn slowly for 40 samples (steps of 0.1), then fast for 40 (steps of 1.0), and a dot
    x = np.concatenate([np.arange(41) * 0.1, 4.0 + np.arange(1, 41) * 1.0])
    line = S.join_strokes([np.stack([x, np.zeros_like(x)], 1), np.array([[50.0, 5.0]])])
    half = S.resample_in_time(line, len(line) / 2)
    strokes = S.split_strokes(half)
    assert len(strokes) == 2 and len(strokes[1]) == 1 and strokes[1][0].tolist() == [50.0, 5.0]
    stroke = strokes[0]
    assert stroke[0].tolist() == [0.0, 0.0] and stroke[-1].tolist() == [44.0, 0.0]
    assert abs(len(half) - len(line) / 2) <= 1
    steps = np.diff(stroke[:, 0])
    # every other sample: 0.2 in the slow part, 2.0 in the fast part (equal arc steps: ~1.1 throughout)
    np.testing.assert_allclose(steps[:15], 0.2, atol=0.02)
    np.testing.assert_allclose(steps[-15:], 2.0, atol=0.1)
