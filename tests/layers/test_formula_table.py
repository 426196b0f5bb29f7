"""Layer formula table: (layer, input shape) -> (output shape, params, MACs).

Every expected value was produced by real PyTorch 2.13.0 (CPU); the PyTorch expression is in each row's comment.
MACs = FlopCounterMode total / 2 for one sample.
"""
import pytest
import archcalc

def swiglu(width: int) -> list[dict]:
    """A SwiGLU expert 16 -> width -> 16 (Mixtral's): down_proj(silu(gate_proj(x)) * up_proj(x))."""
    return [{'name': 'gate_proj', 'type': 'linear', 'out_features': width, 'bias': False},
            {'name': 'act_fn', 'type': 'silu'},
            {'name': 'up_proj', 'type': 'linear', 'out_features': width, 'bias': False, 'inputs': ['input']},
            {'name': 'mul', 'type': 'mul', 'inputs': ['act_fn', 'up_proj']},
            {'name': 'down_proj', 'type': 'linear', 'out_features': 16, 'bias': False}]


SWIGLU_32, SWIGLU_8 = swiglu(32), swiglu(8)
MLP_24 = [{'type': 'linear', 'out_features': 24}, {'type': 'gelu'}, {'type': 'linear', 'out_features': 16}]

ROWS = [
    # (layer spec, input shape, output shape, params, macs)
    pytest.param({'type': 'conv1d', 'out_channels': 8, 'kernel_size': 3}, [4, 32], [8, 30], 104, 2880,
                 id='conv1d-plain'),  # nn.Conv1d(4, 8, 3)
    pytest.param({'type': 'conv1d', 'out_channels': 16, 'kernel_size': 5, 'stride': 2, 'padding': 2}, [8, 50], [16, 25], 656, 16000,
                 id='conv1d-stride-padding'),  # nn.Conv1d(8, 16, 5, stride=2, padding=2)
    pytest.param({'type': 'conv1d', 'out_channels': 8, 'kernel_size': 3, 'dilation': 3}, [4, 40], [8, 34], 104, 3264,
                 id='conv1d-dilation'),  # nn.Conv1d(4, 8, 3, dilation=3)
    pytest.param({'type': 'conv1d', 'out_channels': 12, 'kernel_size': 3, 'groups': 3}, [6, 20], [12, 18], 84, 1296,
                 id='conv1d-groups'),  # nn.Conv1d(6, 12, 3, groups=3)
    pytest.param({'type': 'conv1d', 'out_channels': 8, 'kernel_size': 3, 'bias': False}, [4, 32], [8, 30], 96, 2880,
                 id='conv1d-nobias'),  # nn.Conv1d(4, 8, 3, bias=False)
    pytest.param({'type': 'conv1d', 'out_channels': 8, 'kernel_size': 5, 'padding': 'same'}, [4, 30], [8, 30], 168, 4800,
                 id='conv1d-same-odd'),  # nn.Conv1d(4, 8, 5, padding='same')
    pytest.param({'type': 'conv1d', 'out_channels': 8, 'kernel_size': 5, 'padding': 'valid'}, [4, 30], [8, 26], 168, 4160,
                 id='conv1d-valid'),  # nn.Conv1d(4, 8, 5, padding='valid')
    pytest.param({'type': 'conv2d', 'out_channels': 6, 'kernel_size': 5}, [1, 28, 28], [6, 24, 24], 156, 86400,
                 id='conv2d-lenet'),  # nn.Conv2d(1, 6, 5)
    pytest.param({'type': 'conv2d', 'out_channels': 32, 'kernel_size': 3, 'stride': 2, 'padding': 1}, [16, 32, 32], [32, 16, 16], 4640, 1179648,
                 id='conv2d-stride2-pad1'),  # nn.Conv2d(16, 32, 3, stride=2, padding=1)
    pytest.param({'type': 'conv2d', 'out_channels': 16, 'kernel_size': 3, 'dilation': 2}, [8, 20, 20], [16, 16, 16], 1168, 294912,
                 id='conv2d-dilation2'),  # nn.Conv2d(8, 16, 3, dilation=2)
    pytest.param({'type': 'conv2d', 'out_channels': 32, 'kernel_size': 3, 'padding': 1, 'groups': 2}, [16, 14, 14], [32, 14, 14], 2336, 451584,
                 id='conv2d-groups2'),  # nn.Conv2d(16, 32, 3, padding=1, groups=2)
    pytest.param({'type': 'conv2d', 'out_channels': 32, 'kernel_size': 3, 'padding': 1, 'groups': 32}, [32, 56, 56], [32, 56, 56], 320, 903168,
                 id='conv2d-depthwise'),  # nn.Conv2d(32, 32, 3, padding=1, groups=32)
    pytest.param({'type': 'conv2d', 'out_channels': 64, 'kernel_size': 3, 'padding': 1, 'bias': False}, [3, 32, 32], [64, 32, 32], 1728, 1769472,
                 id='conv2d-nobias'),  # nn.Conv2d(3, 64, 3, padding=1, bias=False)
    pytest.param({'type': 'conv2d', 'out_channels': 8, 'kernel_size': [3, 5], 'stride': [2, 1], 'padding': [1, 2]}, [4, 15, 20], [8, 8, 20], 488, 76800,
                 id='conv2d-asymmetric'),  # nn.Conv2d(4, 8, (3, 5), stride=(2, 1), padding=(1, 2))
    pytest.param({'type': 'conv2d', 'out_channels': 8, 'kernel_size': 4, 'padding': 'same'}, [3, 10, 10], [8, 10, 10], 392, 38400,
                 id='conv2d-same-even-kernel'),  # nn.Conv2d(3, 8, 4, padding='same')
    pytest.param({'type': 'conv2d', 'out_channels': 8, 'kernel_size': 4, 'padding': 'same', 'dilation': 2}, [3, 10, 10], [8, 10, 10], 392, 38400,
                 id='conv2d-same-even-kernel-dilation2'),  # nn.Conv2d(3, 8, 4, padding='same', dilation=2)
    pytest.param({'type': 'conv2d', 'out_channels': 8, 'kernel_size': 3, 'padding': 'valid'}, [3, 10, 12], [8, 8, 10], 224, 17280,
                 id='conv2d-valid'),  # nn.Conv2d(3, 8, 3, padding='valid')
    pytest.param({'type': 'conv2d', 'out_channels': 128, 'kernel_size': 1}, [64, 28, 28], [128, 28, 28], 8320, 6422528,
                 id='conv2d-1x1'),  # nn.Conv2d(64, 128, 1)
    pytest.param({'type': 'conv2d', 'out_channels': 4, 'kernel_size': 3, 'stride': 2}, [2, 8, 8], [4, 3, 3], 76, 648,
                 id='conv2d-stride-floor'),  # nn.Conv2d(2, 4, 3, stride=2)
    pytest.param({'type': 'conv2d', 'out_channels': 16, 'kernel': 3, 'padding': 1}, [3, 16, 16], [16, 16, 16], 448, 110592,
                 id='conv2d-kernel-alias'),  # nn.Conv2d(3, 16, 3, padding=1)
    pytest.param({'type': 'conv2d', 'in_channels': 3, 'out_channels': 64, 'kernel_size': 7, 'stride': 2, 'padding': 3, 'bias': False}, [3, 224, 224], [64, 112, 112], 9408, 118013952,
                 id='conv2d-explicit-in-channels'),  # nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
    pytest.param({'type': 'conv3d', 'out_channels': 8, 'kernel_size': 3}, [3, 8, 16, 16], [8, 6, 14, 14], 656, 762048,
                 id='conv3d-plain'),  # nn.Conv3d(3, 8, 3)
    pytest.param({'type': 'conv3d', 'out_channels': 16, 'kernel_size': 3, 'stride': [1, 2, 2], 'padding': [0, 1, 1]}, [8, 6, 16, 16], [16, 4, 8, 8], 3472, 884736,
                 id='conv3d-stride-padding'),  # nn.Conv3d(8, 16, 3, stride=(1, 2, 2), padding=(0, 1, 1))
    pytest.param({'type': 'conv3d', 'out_channels': 8, 'kernel_size': 3, 'padding': 1, 'groups': 4}, [8, 4, 8, 8], [8, 4, 8, 8], 440, 110592,
                 id='conv3d-groups'),  # nn.Conv3d(8, 8, 3, padding=1, groups=4)
    pytest.param({'type': 'linear', 'out_features': 10}, [784], [10], 7850, 7840,
                 id='linear-vector'),  # nn.Linear(784, 10)
    pytest.param({'type': 'linear', 'out_features': 32}, [4, 10, 16], [4, 10, 32], 544, 20480,
                 id='linear-3d'),  # nn.Linear(16, 32)
    pytest.param({'type': 'linear', 'out_features': 100, 'bias': False}, [256], [100], 25600, 25600,
                 id='linear-nobias'),  # nn.Linear(256, 100, bias=False)
    pytest.param({'type': 'batchnorm1d'}, [16], [16], 32, 0,
                 id='batchnorm1d-vector'),  # nn.BatchNorm1d(16)
    pytest.param({'type': 'batchnorm1d'}, [16, 50], [16, 50], 32, 0,
                 id='batchnorm1d-sequence'),  # nn.BatchNorm1d(16)
    pytest.param({'type': 'batchnorm2d'}, [64, 8, 8], [64, 8, 8], 128, 0,
                 id='batchnorm2d'),  # nn.BatchNorm2d(64)
    pytest.param({'type': 'batchnorm2d', 'affine': False}, [64, 8, 8], [64, 8, 8], 0, 0,
                 id='batchnorm2d-no-affine'),  # nn.BatchNorm2d(64, affine=False)
    pytest.param({'type': 'maxpool2d', 'kernel_size': 2}, [6, 24, 24], [6, 12, 12], 0, 0,
                 id='maxpool2d-k2'),  # nn.MaxPool2d(2)
    pytest.param({'type': 'maxpool2d', 'kernel_size': 3, 'stride': 2, 'padding': 1}, [64, 112, 112], [64, 56, 56], 0, 0,
                 id='maxpool2d-resnet-stem'),  # nn.MaxPool2d(3, stride=2, padding=1)
    pytest.param({'type': 'maxpool2d', 'kernel_size': 3, 'stride': 2, 'padding': 1, 'ceil_mode': True}, [64, 112, 112], [64, 57, 57], 0, 0,
                 id='maxpool2d-resnet-stem-ceil'),  # nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
    pytest.param({'type': 'maxpool2d', 'kernel_size': 3, 'stride': 1, 'dilation': 2}, [4, 10, 10], [4, 6, 6], 0, 0,
                 id='maxpool2d-dilation2'),  # nn.MaxPool2d(3, stride=1, dilation=2)
    pytest.param({'type': 'maxpool2d', 'kernel_size': 2, 'stride': 2, 'ceil_mode': True}, [3, 7, 7], [3, 4, 4], 0, 0,
                 id='maxpool2d-ceil-adds-window'),  # nn.MaxPool2d(2, stride=2, ceil_mode=True)
    pytest.param({'type': 'maxpool2d', 'kernel_size': 2, 'stride': 2}, [3, 7, 7], [3, 3, 3], 0, 0,
                 id='maxpool2d-floor-same-input'),  # nn.MaxPool2d(2, stride=2)
    pytest.param({'type': 'maxpool2d', 'kernel_size': 2, 'stride': 2, 'padding': 1, 'ceil_mode': True}, [3, 5, 5], [3, 3, 3], 0, 0,
                 id='maxpool2d-ceil-drops-last-window'),  # nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True)
    pytest.param({'type': 'maxpool2d', 'kernel_size': [2, 3], 'stride': [2, 1]}, [4, 10, 10], [4, 5, 8], 0, 0,
                 id='maxpool2d-asymmetric'),  # nn.MaxPool2d((2, 3), stride=(2, 1))
    pytest.param({'type': 'maxpool2d', 'kernel': 2}, [16, 10, 10], [16, 5, 5], 0, 0,
                 id='maxpool2d-kernel-alias'),  # nn.MaxPool2d(2)
    pytest.param({'type': 'avgpool2d', 'kernel_size': 2}, [6, 28, 28], [6, 14, 14], 0, 0,
                 id='avgpool2d-k2'),  # nn.AvgPool2d(2)
    pytest.param({'type': 'avgpool2d', 'kernel_size': 3, 'stride': 2, 'padding': 1}, [32, 15, 15], [32, 8, 8], 0, 0,
                 id='avgpool2d-k3-s2-p1'),  # nn.AvgPool2d(3, stride=2, padding=1)
    pytest.param({'type': 'avgpool2d', 'kernel_size': 2, 'stride': 2, 'ceil_mode': True}, [3, 7, 7], [3, 4, 4], 0, 0,
                 id='avgpool2d-ceil-adds-window'),  # nn.AvgPool2d(2, stride=2, ceil_mode=True)
    pytest.param({'type': 'avgpool2d', 'kernel_size': 2, 'stride': 2, 'padding': 1, 'ceil_mode': True}, [3, 5, 5], [3, 3, 3], 0, 0,
                 id='avgpool2d-ceil-drops-last-window'),  # nn.AvgPool2d(2, stride=2, padding=1, ceil_mode=True)
    pytest.param({'type': 'adaptiveavgpool2d', 'output_size': 1}, [512, 7, 7], [512, 1, 1], 0, 0,
                 id='adaptiveavgpool2d-1'),  # nn.AdaptiveAvgPool2d(1)
    pytest.param({'type': 'adaptiveavgpool2d', 'output_size': [2, 3]}, [8, 7, 10], [8, 2, 3], 0, 0,
                 id='adaptiveavgpool2d-2x3'),  # nn.AdaptiveAvgPool2d((2, 3))
    pytest.param({'type': 'adaptiveavgpool2d', 'output_size': 7}, [512, 14, 14], [512, 7, 7], 0, 0,
                 id='adaptiveavgpool2d-7-from-14'),  # nn.AdaptiveAvgPool2d(7)
    pytest.param({'type': 'adaptiveavgpool2d', 'output_size': [None, 2]}, [4, 5, 6], [4, 5, 2], 0, 0,
                 id='adaptiveavgpool2d-none'),  # nn.AdaptiveAvgPool2d((None, 2))
    pytest.param({'type': 'flatten'}, [16, 5, 5], [400], 0, 0,
                 id='flatten-default'),  # nn.Flatten()
    pytest.param({'type': 'flatten', 'start_dim': 2}, [8, 4, 5], [8, 20], 0, 0,
                 id='flatten-start2'),  # nn.Flatten(start_dim=2)
    pytest.param({'type': 'flatten', 'end_dim': -2}, [2, 3, 4, 5], [24, 5], 0, 0,
                 id='flatten-end-minus2'),  # nn.Flatten(end_dim=-2)
    pytest.param({'type': 'flatten', 'start_dim': 1, 'end_dim': 2}, [2, 3, 4, 5], [6, 4, 5], 0, 0,
                 id='flatten-start1-end2'),  # nn.Flatten(start_dim=1, end_dim=2)
    pytest.param({'type': 'dropout', 'p': 0.5}, [128], [128], 0, 0,
                 id='dropout'),  # nn.Dropout(0.5)
    pytest.param({'type': 'identity'}, [3, 4, 5], [3, 4, 5], 0, 0,
                 id='identity'),  # nn.Identity()
    pytest.param({'type': 'relu'}, [16, 8, 8], [16, 8, 8], 0, 0,
                 id='relu'),  # nn.ReLU()
    pytest.param({'type': 'relu6'}, [32, 7, 7], [32, 7, 7], 0, 0,
                 id='relu6'),  # nn.ReLU6()
    pytest.param({'type': 'leakyrelu', 'negative_slope': 0.2}, [64], [64], 0, 0,
                 id='leakyrelu'),  # nn.LeakyReLU(0.2)
    pytest.param({'type': 'gelu'}, [10, 16], [10, 16], 0, 0,
                 id='gelu'),  # nn.GELU()
    pytest.param({'type': 'silu'}, [24, 6, 6], [24, 6, 6], 0, 0,
                 id='silu'),  # nn.SiLU()
    pytest.param({'type': 'sigmoid'}, [10], [10], 0, 0,
                 id='sigmoid'),  # nn.Sigmoid()
    pytest.param({'type': 'tanh'}, [5, 20], [5, 20], 0, 0,
                 id='tanh'),  # nn.Tanh()
    pytest.param({'type': 'hardswish'}, [16, 14, 14], [16, 14, 14], 0, 0,
                 id='hardswish'),  # nn.Hardswish()
    pytest.param({'type': 'hardsigmoid'}, [16, 1, 1], [16, 1, 1], 0, 0,
                 id='hardsigmoid'),  # nn.Hardsigmoid()
    pytest.param({'type': 'softmax', 'dim': 1}, [10], [10], 0, 0,
                 id='softmax-dim1'),  # nn.Softmax(dim=1)
    pytest.param({'type': 'upsample', 'scale_factor': 2}, [64, 28, 28], [64, 56, 56], 0, 0,
                 id='upsample-nearest-scale2'),  # nn.Upsample(scale_factor=2)
    pytest.param({'type': 'upsample', 'scale_factor': 2.5, 'mode': 'linear'}, [8, 7], [8, 17], 0, 0,
                 id='upsample-float-scale-1d'),  # nn.Upsample(scale_factor=2.5, mode='linear')
    pytest.param({'type': 'upsample', 'scale_factor': 0.29}, [3, 100], [3, 28], 0, 0,
                 id='upsample-float-scale-trunc'),  # nn.Upsample(scale_factor=0.29)
    pytest.param({'type': 'upsample', 'scale_factor': 1.15, 'mode': 'bilinear'}, [2, 100, 10], [2, 114, 11], 0, 0,
                 id='upsample-float-scale-1.15'),  # nn.Upsample(scale_factor=1.15, mode='bilinear')
    pytest.param({'type': 'upsample', 'scale_factor': [1.5, 2], 'mode': 'bicubic', 'align_corners': True}, [4, 7, 5], [4, 10, 10], 0, 0,
                 id='upsample-per-axis-scale'),  # nn.Upsample(scale_factor=(1.5, 2), mode='bicubic', align_corners=True)
    pytest.param({'type': 'upsample', 'size': 6, 'mode': 'trilinear'}, [2, 3, 4, 5], [2, 6, 6, 6], 0, 0,
                 id='upsample-size-int-3d'),  # nn.Upsample(size=6, mode='trilinear')
    pytest.param({'type': 'upsample', 'size': [3, 9], 'mode': 'nearest-exact'}, [4, 6, 6], [4, 3, 9], 0, 0,
                 id='upsample-size-list'),  # nn.Upsample(size=(3, 9), mode='nearest-exact')
    pytest.param({'type': 'upsample', 'scale_factor': 0.3333333333333333, 'mode': 'area'}, [3, 7, 7], [3, 2, 2], 0, 0,
                 id='upsample-area-scale'),  # nn.Upsample(scale_factor=1/3, mode='area')
    pytest.param({'type': 'pixelshuffle', 'upscale_factor': 3}, [27, 8, 8], [3, 24, 24], 0, 0,
                 id='pixelshuffle-r3'),  # nn.PixelShuffle(3)
    pytest.param({'type': 'pixelshuffle', 'upscale_factor': 2}, [5, 8, 3, 3], [5, 2, 6, 6], 0, 0,
                 id='pixelshuffle-5d'),  # nn.PixelShuffle(2)
    pytest.param({'type': 'pixelunshuffle', 'downscale_factor': 2}, [3, 64, 32], [12, 32, 16], 0, 0,
                 id='pixelunshuffle-r2'),  # nn.PixelUnshuffle(2)
    # Embeddings and learned tensors: token ids are int64 inputs; MACs 0 (FlopCounterMode counts none)
    pytest.param({'type': 'embedding', 'num_embeddings': 50, 'embedding_dim': 8}, {'shape': [7], 'dtype': 'int64'}, [7, 8], 400, 0,
                 id='embedding'),  # nn.Embedding(50, 8)
    pytest.param({'type': 'embedding', 'num_embeddings': 20000, 'embedding_dim': 128, 'padding_idx': 0}, {'shape': [4, 6], 'dtype': 'int32'}, [4, 6, 128], 2560000, 0,
                 id='embedding-2d-ids-padding'),  # nn.Embedding(20000, 128, padding_idx=0) on int32 [N, 4, 6]
    pytest.param({'type': 'parameter', 'shape': [197, 768]}, [3], [197, 768], 151296, 0,
                 id='parameter-positional'),  # nn.Parameter(torch.zeros(1, 197, 768)).expand(N, -1, -1)
    # Recurrent layers on [N, L, H_in] with batch_first; MACs with torch.backends.mkldnn.flags(enabled=False)
    pytest.param({'type': 'lstm', 'hidden_size': 4}, [9, 6], [9, 4], 192, 1440,
                 id='lstm'),  # nn.LSTM(6, 4)
    pytest.param({'type': 'lstm', 'hidden_size': 8, 'num_layers': 2, 'bidirectional': True, 'proj_size': 3, 'bias': False}, [9, 6], [9, 6], 1248, 11232,
                 id='lstm-2l-bi-proj-nobias'),  # nn.LSTM(6, 8, 2, bias=False, bidirectional=True, proj_size=3)
    pytest.param({'type': 'lstm', 'hidden_size': 16, 'num_layers': 3, 'proj_size': 5}, [9, 6], [9, 5], 2608, 20016,
                 id='lstm-3l-proj'),  # nn.LSTM(6, 16, 3, proj_size=5)
    pytest.param({'type': 'gru', 'hidden_size': 5, 'num_layers': 3, 'bidirectional': True}, [9, 6], [9, 10], 1410, 11070,
                 id='gru-3l-bi'),  # nn.GRU(6, 5, 3, bidirectional=True)
    pytest.param({'type': 'rnn', 'hidden_size': 7, 'num_layers': 2, 'nonlinearity': 'relu'}, [9, 6], [9, 7], 217, 1701,
                 id='rnn-2l-relu'),  # nn.RNN(6, 7, 2, nonlinearity='relu')
    pytest.param({'type': 'reshape', 'shape': [197, 12, -1]}, [197, 768], [197, 12, 64], 0, 0,
                 id='reshape-heads'),  # torch.reshape(x, (1, 197, 12, -1))
    pytest.param({'type': 'permute', 'dims': [0, 2, 3, 1]}, [64, 7, 9], [7, 9, 64], 0, 0,
                 id='permute-channels-last'),  # torch.permute(x, (0, 2, 3, 1))
    pytest.param({'type': 'transpose', 'dim0': 1, 'dim1': -1}, [12, 197, 64], [64, 197, 12], 0, 0,
                 id='transpose'),  # torch.transpose(x, 1, -1)
    pytest.param({'type': 'split', 'split_size_or_sections': 768, 'dim': -1}, [197, 2304], [197, 768], 0, 0,
                 id='split-qkv'),  # torch.split(x, 768, -1)
    pytest.param({'type': 'split', 'split_size_or_sections': [2, 5], 'dim': 1}, [7, 3], [2, 3], 0, 0,
                 id='split-sections'),  # torch.split(x, [2, 5], 1)
    pytest.param({'type': 'chunk', 'chunks': 4, 'dim': 1}, [6, 7], [2, 7], 0, 0,
                 id='chunk-uneven'),  # torch.chunk(x, 4, 1): 3 pieces of 2
    pytest.param({'type': 'select', 'dim': 1, 'index': 0}, [197, 768], [768], 0, 0,
                 id='select-class-token'),  # x[:, 0]
    pytest.param({'type': 'select', 'dim': -1, 'index': -1}, [4, 5, 6], [4, 5], 0, 0,
                 id='select-last'),  # x.select(-1, -1)
    pytest.param({'type': 'mean', 'dim': [2, 3], 'keepdim': True}, [64, 7, 7], [64, 1, 1], 0, 0,
                 id='mean-keepdim'),  # torch.mean(x, (2, 3), keepdim=True)
    pytest.param({'type': 'mean', 'dim': 1}, [197, 768], [768], 0, 0,
                 id='mean-tokens'),  # torch.mean(x, 1)
    pytest.param({'type': 'zeropad2d', 'padding': [1, 2, 0, 3]}, [3, 5, 5], [3, 8, 8], 0, 0,
                 id='zeropad2d-sides'),  # nn.ZeroPad2d((1, 2, 0, 3))
    pytest.param({'type': 'constantpad1d', 'padding': [-1, 2], 'value': 0.5}, [3, 5], [3, 6], 0, 0,
                 id='constantpad1d-crop'),  # nn.ConstantPad1d((-1, 2), 0.5)
    pytest.param({'type': 'reflectionpad2d', 'padding': 4}, [3, 5, 5], [3, 13, 13], 0, 0,
                 id='reflectionpad2d-limit'),  # nn.ReflectionPad2d(4)
    pytest.param({'type': 'replicationpad3d', 'padding': [0, 1, 1, 0, 2, 2]}, [2, 3, 4, 4], [2, 7, 5, 5], 0, 0,
                 id='replicationpad3d'),  # nn.ReplicationPad3d((0, 1, 1, 0, 2, 2))
    pytest.param({'type': 'circularpad1d', 'padding': 5}, [3, 5], [3, 15], 0, 0,
                 id='circularpad1d-limit'),  # nn.CircularPad1d(5)
    pytest.param({'type': 'glu', 'dim': 1}, [64, 28, 28], [32, 28, 28], 0, 0,
                 id='glu-channels'),  # nn.GLU(dim=1)
    pytest.param({'type': 'softplus', 'beta': 2.0}, [64, 28, 28], [64, 28, 28], 0, 0,
                 id='softplus'),  # nn.Softplus(beta=2.0)
    pytest.param({'type': 'hardtanh', 'min_val': -2.0, 'max_val': 2.0}, [16, 8], [16, 8], 0, 0,
                 id='hardtanh'),  # nn.Hardtanh(-2.0, 2.0)
    pytest.param({'type': 'softmax2d'}, [8, 5, 5], [8, 5, 5], 0, 0,
                 id='softmax2d'),  # nn.Softmax2d()
    pytest.param({'type': 'sub', 'scalar': 1}, [16, 8], [16, 8], 0, 0,
                 id='sub-scalar'),  # x - 1
    pytest.param({'type': 'pow', 'exponent': 2}, [16, 8], [16, 8], 0, 0,
                 id='pow'),  # torch.pow(x, 2)
    pytest.param({'type': 'clamp', 'min': 0}, [16, 8], [16, 8], 0, 0,
                 id='clamp-min'),  # torch.clamp(x, min=0)
    pytest.param({'type': 'rmsnorm', 'normalized_shape': 4096}, [128, 4096], [128, 4096], 4096, 0,
                 id='rmsnorm'),  # nn.RMSNorm(4096)
    pytest.param({'type': 'rmsnorm', 'normalized_shape': [7, 7], 'elementwise_affine': False}, [64, 7, 7], [64, 7, 7], 0, 0,
                 id='rmsnorm-no-affine'),  # nn.RMSNorm((7, 7), elementwise_affine=False)
    pytest.param({'type': 'groupnorm', 'num_groups': 32}, [256, 14, 14], [256, 14, 14], 512, 0,
                 id='groupnorm'),  # nn.GroupNorm(32, 256)
    pytest.param({'type': 'groupnorm', 'num_groups': 4, 'affine': False}, [16, 10], [16, 10], 0, 0,
                 id='groupnorm-no-affine'),  # nn.GroupNorm(4, 16, affine=False)
    pytest.param({'type': 'instancenorm2d'}, [64, 8, 8], [64, 8, 8], 0, 0,
                 id='instancenorm2d'),  # nn.InstanceNorm2d(64)
    pytest.param({'type': 'instancenorm1d', 'affine': True}, [16, 50], [16, 50], 32, 0,
                 id='instancenorm1d-affine'),  # nn.InstanceNorm1d(16, affine=True)
    pytest.param({'type': 'instancenorm3d', 'affine': True, 'track_running_stats': True}, [4, 3, 8, 8], [4, 3, 8, 8], 8, 0,
                 id='instancenorm3d-tracked'),  # nn.InstanceNorm3d(4, affine=True, track_running_stats=True)
    # attention (batch_first; MACs with autograd on / the math path; a mapping input: several named inputs)
    pytest.param({'type': 'multiheadattention', 'num_heads': 8}, [197, 768], [197, 768], 2362368, 524391936,
                 id='mha-self'),  # nn.MultiheadAttention(768, 8)(x, x, x)
    pytest.param({'type': 'multiheadattention', 'num_heads': 4, 'bias': False, 'add_bias_kv': True, 'add_zero_attn': True}, [10, 64], [10, 64], 16512, 179200,
                 id='mha-nobias-biaskv-zeroattn'),  # nn.MultiheadAttention(64, 4, bias=False, add_bias_kv=True, add_zero_attn=True)
    pytest.param({'type': 'multiheadattention', 'num_heads': 2, 'kdim': 12, 'vdim': 6, 'inputs': ['q', 'k', 'v']}, {'q': [9, 16], 'k': [5, 12], 'v': [5, 6]}, [9, 16], 864, 7488,
                 id='mha-cross-kdim-vdim'),  # nn.MultiheadAttention(16, 2, kdim=12, vdim=6)(q, k, v)
    pytest.param({'type': 'multiheadattention', 'num_heads': 4, 'inputs': ['q', 'm', 'm']}, {'q': [9, 32], 'm': [20, 32]}, [9, 32], 4224, 70912,
                 id='mha-cross'),  # nn.MultiheadAttention(32, 4)(q, m, m)
    pytest.param({'type': 'scaled_dot_product_attention', 'inputs': ['q', 'k', 'v']}, {'q': [12, 197, 64], 'k': [12, 197, 64], 'v': [12, 197, 64]}, [12, 197, 64], 0, 59610624,
                 id='sdpa-heads'),  # F.scaled_dot_product_attention(q, k, v)
    pytest.param({'type': 'scaled_dot_product_attention', 'is_causal': True, 'inputs': ['q', 'k', 'v']}, {'q': [4, 10, 16], 'k': [4, 12, 16], 'v': [4, 12, 8]}, [4, 10, 8], 0, 11520,
                 id='sdpa-causal-dv'),  # F.scaled_dot_product_attention(q, k, v, is_causal=True)
    pytest.param({'type': 'scaled_dot_product_attention', 'enable_gqa': True, 'inputs': ['q', 'k', 'v']}, {'q': [32, 128, 64], 'k': [8, 128, 64], 'v': [8, 128, 64]}, [32, 128, 64], 0, 67108864,
                 id='sdpa-gqa'),  # F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    pytest.param({'type': 'scaled_dot_product_attention', 'scale': 0.1, 'inputs': ['q', 'k', 'v']}, {'q': [7, 5], 'k': [9, 5], 'v': [9, 3]}, [7, 3], 0, 504,
                 id='sdpa-3d'),  # F.scaled_dot_product_attention(q, k, v, scale=0.1)
    pytest.param({'type': 'transformerencoderlayer', 'nhead': 8}, [128, 512], [128, 512], 3152384, 419430400,
                 id='encoder-default'),  # nn.TransformerEncoderLayer(512, 8)
    pytest.param({'type': 'transformerencoderlayer', 'nhead': 4, 'dim_feedforward': 256, 'activation': 'gelu', 'norm_first': True, 'bias': False}, [50, 64], [50, 64], 49280, 2777600,
                 id='encoder-gelu-normfirst-nobias'),  # nn.TransformerEncoderLayer(64, 4, 256, activation='gelu', norm_first=True, bias=False)
    pytest.param({'type': 'transformerdecoderlayer', 'nhead': 8, 'inputs': ['tgt', 'memory']}, {'tgt': [20, 512], 'memory': [30, 512]}, [20, 512], 4204032, 90152960,
                 id='decoder-default'),  # nn.TransformerDecoderLayer(512, 8)(tgt, memory)
    pytest.param({'type': 'matmul', 'inputs': ['a', 'b']}, {'a': [10, 20], 'b': [20, 30]}, [10, 30], 0, 6000,
                 id='matmul-2d'),  # torch.matmul(a, b)
    pytest.param({'type': 'matmul', 'inputs': ['a', 'b']}, {'a': [1, 3, 7, 4], 'b': [2, 1, 4, 5]}, [2, 3, 7, 5], 0, 840,
                 id='matmul-broadcast'),  # torch.matmul(a, b)
    # moe: tests/torch_modules.py's MixtureOfExperts (HF Mixtral's routing loop, each expert a module of the spec's
    # expert layers), params = Σ numel, MACs on whatever routing torch.manual_seed(0) gives
    pytest.param({'type': 'moe', 'experts': 8, 'top_k': 2, 'expert': SWIGLU_32}, [10, 16], [10, 16], 12416, 32000,
                 id='moe-mixtral'),  # MixtureOfExperts(16, experts=8, top_k=2, expert=SwiGLU 16 -> 32 -> 16)
    pytest.param({'type': 'moe', 'experts': 4, 'top_k': 1, 'expert': MLP_24}, [7, 16], [7, 16], 3296, 5824,
                 id='moe-top1-biased-mlp'),  # MixtureOfExperts(16, experts=4, top_k=1, expert=Linear, GELU, Linear)
    pytest.param({'type': 'moe', 'experts': 6, 'top_k': 2, 'expert': SWIGLU_8, 'shared_experts': 2}, [5, 16], [5, 16],
                 3168, 8160, id='moe-shared-experts'),  # DeepSeek-MoE: 2 shared experts
    pytest.param({'type': 'moe', 'experts': 4, 'top_k': 2, 'expert': SWIGLU_8, 'shared_experts': 1,
                  'shared_expert': SWIGLU_32, 'shared_expert_gate': True}, [10, 16], [10, 16], 3152, 23840,
                 id='moe-gated-shared-expert'),  # Qwen2-MoE: a wider shared expert, sigmoid(Linear(16, 1)) gate
    pytest.param({'type': 'moe', 'experts': 3, 'top_k': 3, 'expert': MLP_24, 'router_bias': True}, [4, 16], [4, 16],
                 2475, 9408, id='moe-router-bias-all-experts'),  # nn.Linear(16, 3) router, every expert active
    pytest.param({'type': 'moe', 'experts': 8, 'top_k': 2, 'expert': SWIGLU_32}, [16], [16], 12416, 3200,
                 id='moe-one-token'),  # per sample a single token
    pytest.param({'type': 'moe', 'experts': 4, 'top_k': 2, 'expert': MLP_24}, [2, 5, 16], [2, 5, 16], 3296, 16000,
                 id='moe-rank3'),  # T = 2·5 tokens
]


@pytest.mark.parametrize("layer, input_shape, output_shape, params, macs", ROWS)
def test_layer_formula(layer, input_shape, output_shape, params, macs):
    result = archcalc.analyze({"input": input_shape, "layers": [layer]})
    only = result.layers[0]
    assert (list(only.output_shape), only.params, only.macs) == (output_shape, params, macs)
