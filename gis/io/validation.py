"""``gis validate``: what a file is and whether the job can read it, without running it."""

from __future__ import annotations

from ..ledger import Ledger
from .enterprises import base_coords, load_enterprises, resolve_coords
from .settings import io_settings
from .tables import is_table, must_exist
from .vectors import layer_kind, read_landuse, read_layer, read_plan

__all__ = [
    "coordinate_report",
    "validate_file",
]


def coordinate_report(firms, parcels, coords=None, settings=None, source=""):
    """The coordinate-system check of a loaded table as one sentence (what ``gis validate`` prints).

    Parameters
    ----------
    firms : GeoDataFrame
        From :func:`load_enterprises` read in ``base_coords(coords)``.
    parcels : GeoDataFrame or None
        三调 parcels (without them: "not checked").
    coords : str, optional
        As the user gave it (None: the setting; ``"auto"``: report the best).
    settings : dict, optional
    source : str
        File name for the error.

    Returns
    -------
    str
        :func:`gis.attach.coordinate_note`.

    Raises
    ------
    ValidationError
        When another system places clearly more firms and ``coords`` is not
        ``"auto"`` (:func:`gis.attach.require_coordinate_system`).
    """
    from ..attach import coordinate_check, coordinate_note, require_coordinate_system

    settings = io_settings(settings)
    check = coordinate_check(firms, parcels, base_coords(coords, settings), settings)
    check["auto"] = resolve_coords(coords, settings) == "auto"
    if not check["auto"]:
        require_coordinate_system(check, source=source)
    return coordinate_note(check)


def validate_file(path, coords=None, sheet=None, layer=None, boundary=None, engine="pyogrio", settings=None,
                  year=None):
    """Load any supported input with the matching reader; what ``gis validate`` runs.

    Enterprise tables (by extension, see :data:`TABLE_SUFFIXES`) go through
    :func:`load_enterprises`; vector layers through :func:`read_landuse`,
    :func:`read_plan` or :func:`read_layer` according to :func:`layer_kind`.

    Returns
    -------
    data : geopandas.GeoDataFrame
    ledger : gis.ledger.Ledger
        With the source recorded (rows read, loaded).
    kind : str
        ``"enterprises"``, ``"landuse"``, ``"plan"`` or ``"layer"``.
    """
    path = must_exist(path)
    if is_table(path):
        data, led = load_enterprises(path, coords=coords, boundary=boundary, settings=settings, sheet=sheet,
                                     year=year)
        return data, led, "enterprises"
    led = Ledger()
    kind = layer_kind(path, layer)
    reader = {"landuse": read_landuse, "plan": read_plan}.get(kind)
    if reader is None:
        data = read_layer(path, layer=layer, engine=engine, ledger=led, settings=settings)
    else:
        data = reader(path, layer=layer, engine=engine, ledger=led, settings=settings)
    return data, led, kind
