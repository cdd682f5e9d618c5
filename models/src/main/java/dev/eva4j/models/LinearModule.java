package dev.eva4j.models;

/** A linear layer of a model: its module path (Hugging Face naming), in and out features. */
public record LinearModule(String path, int inFeatures, int outFeatures) {}
