from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union
import datetime
import os

__version__: str

class Diagnostic:
    file: str
    line: int
    column: int
    pointer: Optional[str]
    message: str
    help: Optional[str]

class PavedError(Exception):
    diagnostics: List[Diagnostic]

class LoadError(PavedError): ...
class InputError(PavedError): ...
class GoldenPathError(PavedError): ...

class NonCompliantError(GoldenPathError):
    report: Optional[Dict[str, Any]]

_Instant = Union[datetime.datetime, str, None]
_Paths = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]], None]

class Report:
    @property
    def decision(self) -> str: ...
    @property
    def patches(self) -> List[Dict[str, Any]]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_json(self, indent: bool = True) -> str: ...
    def format(self, name: str) -> str: ...

class Engine:
    def __init__(
        self,
        bundle: _Paths = None,
        packs: Optional[List[str]] = None,
        set: Optional[Dict[str, Any]] = None,
        exceptions: _Paths = None,
        plugins: Optional[Dict[str, Any]] = None,
    ) -> None: ...
    @staticmethod
    def from_yaml(
        text: str, set: Optional[Dict[str, Any]] = None, file: str = "bundle.yaml", plugins: Optional[Dict[str, Any]] = None
    ) -> Engine: ...
    def check(
        self,
        objects: Any,
        now: _Instant = None,
        operation: str = "CREATE",
        namespaces: Optional[Dict[str, Any]] = None,
        user_info: Optional[Mapping[str, Any]] = None,
        namespace: Optional[str] = None,
        inventory: Any = None,
        inventory_complete: Union[bool, List[str], None] = None,
        images: Any = None,
    ) -> Report: ...
    def mutate(
        self,
        objects: Any,
        now: _Instant = None,
        operation: str = "CREATE",
        namespaces: Optional[Dict[str, Any]] = None,
        user_info: Optional[Mapping[str, Any]] = None,
        namespace: Optional[str] = None,
        inventory: Any = None,
        inventory_complete: Union[bool, List[str], None] = None,
        images: Any = None,
    ) -> Tuple[List[Dict[str, Any]], Report]: ...
    def image_requests(self, objects: Any) -> List[Dict[str, Any]]: ...
    def admit(self, review: Mapping[str, Any], now: _Instant = None) -> Any: ...
    def policies(self) -> Any: ...
    def exceptions(self, now: _Instant = None) -> Any: ...

def render(golden_path: str, inputs: Mapping[str, Any], bundle: Optional[str] = None) -> Any: ...
def conform(objects: Any, bundle: Optional[str] = None, now: _Instant = None) -> Any: ...
def upgrade(from_: str, inputs: Mapping[str, Any], to: str = "*", bundle: Optional[str] = None) -> Any: ...
def outdated(objects: Any, bundle: Optional[str] = None, now: _Instant = None) -> Any: ...
def packs() -> Any: ...
