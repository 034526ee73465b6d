"""Benchmarks of the ConvNeXt and ViT families (issue 21): planning accuracy over a grid."""
