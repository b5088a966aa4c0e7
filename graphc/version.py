"""graphc's version, in a module of its own at the bottom layer, so what needs it without the whole
package (the llvm caches' keys) imports this module, not the package facade, which imports every layer."""

__version__ = "0.1.0"
