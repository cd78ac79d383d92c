Console.WriteLine(TorchSharp.torch.randn(3).sum().item<float>());
