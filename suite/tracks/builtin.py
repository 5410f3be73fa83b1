"""The built-in tracks: digits-mlp (smoke), mnist-lenet300, mnist-lenet5, fashion-lenet5, cifar10-resnet8."""
from suite.tracks import TRACKS
from suite.tracks.base import Budget, Track
from suite.tracks.resnet8 import resnet8
from suite.tracks.torch_models import lenet5_caffe, mlp
from suite.tracks.training import TrainRecipe

# Reference epochs of cifar10-resnet8: SGD + cosine with crop/flip augmentation; sized to train in well under
# the 45 minutes on 2 cores (see the checkpoint's train_seconds).
RESNET8_EPOCHS = 20


@TRACKS.register
class DigitsMLP(Track):
    name = "digits-mlp"
    description = "sklearn 8x8 digits, MLP 64-128-64-10 (17,226 params): the seconds-long smoke track"
    dataset = "digits"
    input_shape = (64,)
    budget = Budget(finetune_epochs=5, calibration_samples=256, wall_time_s=120, memory_mb=4096,
                    finetune_lr=0.01, batch_size=64)
    recipe = TrainRecipe(epochs=60, lr=0.05, batch_size=64, seed=0)
    architectures = {"mlp-64-32": lambda: mlp([64, 32, 10]), "mlp-64-256-256": lambda: mlp([64, 256, 256, 10])}

    def build_torch(self):
        return mlp([64, 128, 64, 10])


@TRACKS.register
class MnistLeNet300(Track):
    name = "mnist-lenet300"
    description = "MNIST, LeNet-300-100 (784-300-100-10, 266,610 params)"
    dataset = "mnist"
    input_shape = (1, 28, 28)
    budget = Budget(finetune_epochs=3, calibration_samples=1000, wall_time_s=1800, memory_mb=8192)
    recipe = TrainRecipe(epochs=20, lr=0.05, batch_size=128, seed=0)
    architectures = {
        "mlp-50-50": lambda: mlp([784, 50, 50, 10]),          # distillation student
        "mlp-1200-1200": lambda: mlp([784, 1200, 1200, 10]),  # Hinton et al. 2015 teacher
        "mlp-800-800": lambda: mlp([784, 800, 800, 10]),      # Hinton et al. 2015 student (hinton2015-mnist)
    }

    def build_torch(self):
        return mlp([784, 300, 100, 10])


@TRACKS.register
class MnistLeNet5(Track):
    name = "mnist-lenet5"
    description = "MNIST, Caffe LeNet-5 (conv20-pool-conv50-pool-fc500-fc10, 431,080 params)"
    dataset = "mnist"
    input_shape = (1, 28, 28)
    budget = Budget(finetune_epochs=3, calibration_samples=1000, wall_time_s=1800, memory_mb=8192)
    recipe = TrainRecipe(epochs=15, lr=0.05, batch_size=128, seed=0)
    architectures = {"lenet5-half": lambda: lenet5_caffe(10, 25, 250)}

    def build_torch(self):
        return lenet5_caffe()


@TRACKS.register
class FashionLeNet5(MnistLeNet5):
    """The same Caffe LeNet-5, recipe and budget as mnist-lenet5 on Fashion-MNIST: MNIST saturates near 99%,
    Fashion-MNIST shows what compression costs."""
    name = "fashion-lenet5"
    description = "Fashion-MNIST, Caffe LeNet-5 (as mnist-lenet5, 431,080 params)"
    dataset = "fashion-mnist"


@TRACKS.register
class Cifar10ResNet8(Track):
    """MLPerf Tiny's image-classification model on the JPEG copy of CIFAR-10 (see datasets/cifar10-jpeg.json:
    lossy, so its accuracy is not comparable with lossless CIFAR-10 results)."""
    name = "cifar10-resnet8"
    description = ("cifar10-jpeg (lossy JPEG copy of CIFAR-10), MLPerf Tiny ResNet-8 (77,946 params, 12.5 M MACs): "
                   "the first compute-bound vision track")
    dataset = "cifar10-jpeg"
    input_shape = (3, 32, 32)
    budget = Budget(finetune_epochs=3, calibration_samples=1000, wall_time_s=3600, memory_mb=8192,
                    finetune_lr=0.01, batch_size=128)
    recipe = TrainRecipe(epochs=RESNET8_EPOCHS, lr=0.1, batch_size=128, seed=0)
    augment_pad = 4
    keras_port_reverse = False  # the Keras port folds BatchNorm into a functional graph: no way back to torch
    architectures = {"resnet8-half": lambda: resnet8((8, 16, 32)),   # distillation student
                     "resnet8": lambda: resnet8()}

    def build_torch(self):
        return resnet8()
