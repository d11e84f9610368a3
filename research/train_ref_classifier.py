#!/usr/bin/env python
"""Train the reference Fashion-MNIST classifier that judges generated images (mgd3.quality.sample_quality)
and write it to mgd3/assets/fmnist-classifier.{safetensors,json}. Usage: python research/train_ref_classifier.py"""
import time, torch
from pathlib import Path
from mgd3.data import load_fashion_mnist
from mgd3.quality import train_classifier, classify, save_classifier
from mgd3.core import env_info

t0 = time.time()
train, test = load_fashion_mnist('train'), load_fashion_mnist('test')
net = train_classifier(train, epochs=4, seed=0)
pred, _ = classify(net, test.images())
acc = (pred == test.y).float().mean().item()
per_class = [(pred[test.y == c] == c).float().mean().item() for c in range(10)]
rec = {'channels': 1, 'num_classes': 10, 'classes': train.classes, 'test_accuracy': acc, 'per_class_test_accuracy': per_class,
       'epochs': 4, 'seed': 0, 'wall_time_s': time.time() - t0, 'command': 'python research/train_ref_classifier.py', 'env': env_info()}
save_classifier(net, Path(__file__).resolve().parent.parent/'mgd3'/'assets'/'fmnist-classifier', rec)
print(f"test accuracy {acc:.4f}; worst class {min(per_class):.3f}; {rec['wall_time_s']:.0f} s")
