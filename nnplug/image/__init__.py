"""`tf.image`: TF1's image ops. Each family is a module of its own: `core` (shapes, dtype conversion, crops,
pads, flips, brightness and contrast), `resampling` (every resize method), `colour` (HSV, YIQ, YUV, hue,
saturation, gamma), `geometry` (rotations, transposes, patches), `quality` (total variation, gradients,
Sobel edges, PSNR, SSIM), `boxes` (crop_and_resize, glimpses, drawing, non-max suppression, distorted
boxes) and `codecs` (PNG/JPEG/GIF/BMP decoding and encoding on the host)."""
from .core import (  # noqa: F401
    adjust_brightness, adjust_contrast, central_crop, convert_image_dtype, crop_to_bounding_box, flip_left_right,
    flip_up_down, grayscale_to_rgb, pad_to_bounding_box, per_image_standardization, random_brightness,
    random_contrast, random_crop, random_flip_left_right, random_flip_up_down, resize_image_with_crop_or_pad,
    rgb_to_grayscale,
)
from .core import resize_image_with_crop_or_pad as resize_with_crop_or_pad  # noqa: F401
from .resampling import (  # noqa: F401
    ResizeMethod, resize, resize_area, resize_bicubic, resize_bilinear, resize_image_with_pad, resize_images,
    resize_nearest_neighbor,
)
from .colour import (  # noqa: F401
    adjust_gamma, adjust_hue, adjust_saturation, hsv_to_rgb, random_hue, random_saturation, rgb_to_hsv, rgb_to_yiq,
    rgb_to_yuv, yiq_to_rgb, yuv_to_rgb,
)
from .geometry import extract_image_patches, extract_patches, rot90, transpose, transpose_image  # noqa: F401
from .quality import image_gradients, psnr, sobel_edges, ssim, ssim_multiscale, total_variation  # noqa: F401
from .boxes import (  # noqa: F401
    crop_and_resize, draw_bounding_boxes, extract_glimpse, non_max_suppression, non_max_suppression_overlaps,
    non_max_suppression_with_scores, sample_distorted_bounding_box,
)
from .codecs import (  # noqa: F401
    decode_bmp, decode_gif, decode_image, decode_jpeg, decode_png, encode_jpeg, encode_png, is_jpeg,
    random_jpeg_quality,
)
